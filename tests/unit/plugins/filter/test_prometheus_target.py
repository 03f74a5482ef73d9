from ansible_collections.onlywave.infra.plugins.filter.prometheus_target import prometheus_target


def test_a_host_is_scraped_at_its_most_specific_address():
    assert prometheus_target({"inventory_hostname": "db1"}, "hosts", 9100) == {
        "targets": ["db1:9100"],
        "labels": {"host": "db1"},
    }
    host = {"inventory_hostname": "db1", "ansible_host": "db1.example", "private_ip_address": "10.20.64.5"}
    assert prometheus_target(host, "hosts", 9187)["targets"] == ["10.20.64.5:9187"]
    host["prometheus_target_address"] = "10.9.9.9"
    assert prometheus_target(host, "hosts", 9187)["targets"] == ["10.9.9.9:9187"]


def test_ipv6_addresses_are_bracketed():
    host = {"inventory_hostname": "db1", "ansible_host": "fd00::5"}
    assert prometheus_target(host, "hosts", 9100)["targets"] == ["[fd00::5]:9100"]


def test_an_api_container_keeps_its_host_and_name():
    container = {"name": "api1-2", "host": "api1", "address": "10.30.1.21", "port": 8002}
    assert prometheus_target(container, "api_containers") == {
        "targets": ["10.30.1.21:8002"],
        "labels": {"host": "api1", "container": "api1-2"},
    }
