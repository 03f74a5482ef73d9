import pytest
from ansible_collections.onlywave.infra.plugins.test.ip_network import TestModule as IpNetworkTests
from ansible_collections.onlywave.infra.plugins.test.ip_network import ip_network


@pytest.mark.parametrize("value", ["10.0.0.0/16", "10.30.2.0/24", "0.0.0.0/0", "192.168.1.7/32", "fd00::/8"])
def test_networks_in_cidr_form_pass(value):
    assert ip_network(value)


@pytest.mark.parametrize(
    "value",
    ["10.0.0.1/8", "10.0.0.0", "10.0.0.0/33", "all", "samenet", "", None, 10, "10.0.0.0/16 ", "example.com/24"],
)
def test_addresses_hosts_and_junk_fail(value):
    assert not ip_network(value)


def test_registered_under_its_name():
    assert IpNetworkTests().tests()["ip_network"] is ip_network
