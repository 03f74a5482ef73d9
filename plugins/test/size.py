# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: size
author: OnlyWave platform team (@onlywave)
version_added: 0.2.0
short_description: Whether a string is a size such as 256m, as nginx and Docker read it
description:
  - True for a number of bytes, optionally followed by k, m or g (either case), more than zero,
    for example C(1m) or C(512k).
options:
  _input:
    description: The string to test.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Fail on a bad body size
  ansible.builtin.assert:
    that: waf_client_max_body_size is onlywave.infra.size
"""

RETURN = r"""
_value:
  description: Whether the input is a size.
  type: bool
"""

import re

_SIZE = re.compile(r"^([0-9]+)[kKmMgG]?$")


def size(value):
    match = _SIZE.match(value) if isinstance(value, str) else None
    return match is not None and int(match.group(1)) > 0


class TestModule:
    def tests(self):
        return {"size": size}
