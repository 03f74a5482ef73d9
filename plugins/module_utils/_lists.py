# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of list options shared by the collection's modules."""


def repeated(values):
    """The values listed more than once, sorted, each once: what a module names in its 'listed twice' errors."""
    return sorted({value for value in values if values.count(value) > 1})
