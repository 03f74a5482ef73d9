# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: ip_network
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Whether a string is an IPv4 or IPv6 network in CIDR form
description:
  - True when the value is a network in CIDR form with no host bits set, for example C(10.0.0.0/16).
  - A bare address without a prefix length is not a network.
options:
  _input:
    description: The string to test.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Fail on a bad subnet
  ansible.builtin.assert:
    that: "'10.0.1.0/24' is onlywave.infra.ip_network"
"""

RETURN = r"""
_value:
  description: Whether the input is a network in CIDR form.
  type: bool
"""

import ipaddress


def ip_network(value):
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


class TestModule:
    def tests(self):
        return {"ip_network": ip_network}
