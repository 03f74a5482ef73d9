# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
DOCUMENTATION = r"""
name: prometheus_target
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: One Prometheus static_configs entry for an inventory host or an API container
description:
  - For a host (O(kind=hosts)), the target is C(<address>:<port>), where the address is the host's
    C(prometheus_target_address), else C(private_ip_address) (the aws_ec2 inventory), else
    C(ansible_host), else its inventory name. The C(host) label is the inventory name.
  - For an API container (O(kind=api_containers), an item of P(onlywave.infra.api_servers#filter)),
    the target is the container's address and port, labelled with its host and container name.
  - IPv6 addresses are put in brackets.
options:
  _input:
    description: A host's variables (C(hostvars[host])), or an API container.
    type: dict
    required: true
  kind:
    description: What the input is.
    type: str
    choices: [hosts, api_containers]
    required: true
  port:
    description: The port to scrape on a host; not used for API containers.
    type: int
"""
EXAMPLES = r"""
- name: The node exporter's targets
  ansible.builtin.debug:
    msg: "{{ groups['all'] | map('extract', hostvars) | map('onlywave.infra.prometheus_target', 'hosts', 9100) }}"
"""
RETURN = r"""
_value:
  description:
    - "One static_configs entry: C(targets), a list of one C(address:port), and C(labels):"
    - C(host), and C(container) for an API container.
  type: dict
"""


def _host_port(address, port):
    address = str(address)
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{address}:{int(port)}"


def prometheus_target(item, kind, port=None):
    if kind == "api_containers":
        return {
            "targets": [_host_port(item["address"], item["port"])],
            "labels": {"host": item["host"], "container": item["name"]},
        }
    name = item["inventory_hostname"]
    address = (
        item.get("prometheus_target_address") or item.get("private_ip_address") or item.get("ansible_host") or name
    )
    return {"targets": [_host_port(address, port)], "labels": {"host": name}}


class FilterModule:
    def filters(self):
        return {"prometheus_target": prometheus_target}
