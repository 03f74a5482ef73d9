# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: api_servers
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: The API containers of API hosts, as the load balancer names and reaches them
description:
  - For each API host, one entry per container the P(onlywave.infra.api#role) role runs on it,
    named C(<host>-<n>), at the host's C(api_bind_address) and port C(api_port_base + n - 1).
  - A host that does not set C(api_containers), C(api_port_base) or C(api_bind_address) gets the
    api role's default. The role P(onlywave.infra.lb#role) and C(playbooks/deploy.yml) both use
    it, so that HAProxy's server names and the deploy's always agree.
options:
  _input:
    description: The API hosts' variables, for example C(groups['api'] | map('extract', hostvars)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: One HAProxy server per API container
  ansible.builtin.debug:
    msg: "{{ groups['api'] | map('extract', hostvars) | onlywave.infra.api_servers }}"
"""

RETURN = r"""
_value:
  description: The containers, host by host, each C({name, host, address, port}).
  type: list
  elements: dict
"""

# The api role's defaults (roles/api/defaults/main.yml; a unit test keeps them equal).
API_DEFAULTS = {"api_containers": 2, "api_port_base": 8001, "api_bind_address": "127.0.0.1"}


def api_servers(hosts):
    servers = []
    for host in hosts:
        settings = {name: host.get(name, default) for name, default in API_DEFAULTS.items()}
        base = int(settings["api_port_base"])
        for n in range(1, int(settings["api_containers"]) + 1):
            servers.append(
                {
                    "name": f"{host['inventory_hostname']}-{n}",
                    "host": host["inventory_hostname"],
                    "address": settings["api_bind_address"],
                    "port": base + n - 1,
                }
            )
    return servers


class FilterModule:
    def filters(self):
        return {"api_servers": api_servers}
