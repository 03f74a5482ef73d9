# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The check mode and idempotence of the modules that keep one AWS resource in a wanted state.
    # Each module still describes its own diff_mode: what its diff shows differs.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""
