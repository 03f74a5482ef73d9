# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: subnet_of
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Whether a network lies inside another
description:
  - True when the input network, in CIDR form, is inside (or equal to) the given network.
  - False when either is not a network in CIDR form, or they are of different IP versions.
options:
  _input:
    description: The network to test, for example C(10.10.1.0/24).
    type: str
    required: true
  network:
    description: The enclosing network, for example C(10.10.0.0/16).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Every subnet lies in the VPC
  ansible.builtin.assert:
    that: "'10.10.1.0/24' is onlywave.infra.subnet_of('10.10.0.0/16')"
"""

RETURN = r"""
_value:
  description: Whether the input network is inside the given one.
  type: bool
"""

import ipaddress


def subnet_of(value, network):
    try:
        inner = ipaddress.ip_network(value, strict=True)
        outer = ipaddress.ip_network(network, strict=True)
    except (TypeError, ValueError):
        return False
    return inner.version == outer.version and inner.subnet_of(outer)


class TestModule:
    def tests(self):
        return {"subnet_of": subnet_of}
