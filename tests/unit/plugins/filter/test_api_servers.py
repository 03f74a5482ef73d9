from pathlib import Path

import yaml
from ansible_collections.onlywave.infra.plugins.filter.api_servers import API_DEFAULTS, api_servers

ROOT = Path(__file__).resolve().parents[4]


def test_one_server_per_container_named_after_its_host():
    hosts = [
        {"inventory_hostname": "api1", "api_containers": 2, "api_port_base": 8101, "api_bind_address": "10.0.1.21"},
        {"inventory_hostname": "api2", "api_containers": 1, "api_port_base": 9001, "api_bind_address": "10.0.1.22"},
    ]
    assert api_servers(hosts) == [
        {"name": "api1-1", "host": "api1", "address": "10.0.1.21", "port": 8101},
        {"name": "api1-2", "host": "api1", "address": "10.0.1.21", "port": 8102},
        {"name": "api2-1", "host": "api2", "address": "10.0.1.22", "port": 9001},
    ]


def test_a_host_without_settings_gets_the_api_roles_defaults():
    assert api_servers([{"inventory_hostname": "api1"}]) == [
        {"name": "api1-1", "host": "api1", "address": "127.0.0.1", "port": 8001},
        {"name": "api1-2", "host": "api1", "address": "127.0.0.1", "port": 8002},
    ]


def test_the_defaults_are_the_api_roles():
    defaults = yaml.safe_load((ROOT / "roles/api/defaults/main.yml").read_text())
    assert {name: defaults[name] for name in API_DEFAULTS} == API_DEFAULTS
