# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: port
author: OnlyWave platform team (@onlywave)
version_added: 0.2.0
short_description: Whether a value is a TCP or UDP port, 1 to 65535
description:
  - True for an integer (or a string of digits) from 1 to 65535. Booleans are not ports.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Fail on a bad port
  ansible.builtin.assert:
    that: redis_port is onlywave.infra.port
"""

RETURN = r"""
_value:
  description: Whether the input is a port.
  type: bool
"""


def port(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and 1 <= value <= 65535


class TestModule:
    def tests(self):
        return {"port": port}
