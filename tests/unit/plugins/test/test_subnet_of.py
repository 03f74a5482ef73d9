import pytest
from ansible_collections.onlywave.infra.plugins.test.subnet_of import subnet_of


@pytest.mark.parametrize(
    ("inner", "outer"),
    [("10.10.1.0/24", "10.10.0.0/16"), ("10.10.0.0/16", "10.10.0.0/16"), ("fd00:1::/64", "fd00::/16")],
)
def test_networks_inside(inner, outer):
    assert subnet_of(inner, outer)


@pytest.mark.parametrize(
    ("inner", "outer"),
    [
        ("10.11.1.0/24", "10.10.0.0/16"),
        ("10.10.0.0/15", "10.10.0.0/16"),
        ("10.10.1.1/24", "10.10.0.0/16"),
        ("10.10.1.0/24", "fd00::/8"),
        ("junk", "10.10.0.0/16"),
        (None, "10.10.0.0/16"),
    ],
)
def test_networks_outside_or_invalid(inner, outer):
    assert not subnet_of(inner, outer)
