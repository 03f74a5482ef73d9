# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: overlapping_networks
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: The pairs of networks in a list that overlap
description:
  - Returns every pair of networks, in CIDR form, that share an address. The same network listed
    twice overlaps itself.
  - Entries that are not networks in CIDR form are ignored; test them with
    P(onlywave.infra.ip_network#test).
options:
  _input:
    description: Networks in CIDR form.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: No two subnets overlap
  vars:
    overlaps: "{{ ['10.0.0.0/24', '10.0.0.128/25', '10.0.1.0/24'] | onlywave.infra.overlapping_networks }}"
  ansible.builtin.assert:
    that: overlaps | length == 0
    fail_msg: "These subnets overlap: {{ overlaps }}"
"""

RETURN = r"""
_value:
  description: Pairs C([first, second]) of overlapping networks, in the order they are listed.
  type: list
  elements: list
"""

import ipaddress
from itertools import combinations


def _network(value):
    try:
        return ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        return None


def overlapping_networks(values):
    networks = [(value, _network(value)) for value in values]
    networks = [(value, net) for value, net in networks if net is not None]
    return [
        [a, b]
        for (a, net_a), (b, net_b) in combinations(networks, 2)
        if net_a.version == net_b.version and net_a.overlaps(net_b)
    ]


class FilterModule:
    def filters(self):
        return {"overlapping_networks": overlapping_networks}
