"""The shared input tests the roles' preflights use: port, duration, size, placeholder_secret."""

import pytest
from ansible_collections.onlywave.infra.plugins.test import duration, placeholder_secret, port, size


@pytest.mark.parametrize("value", [1, 22, 5432, 65535, "6379"])
def test_ports_pass(value):
    assert port.port(value)


@pytest.mark.parametrize("value", [0, -1, 65536, 99999, True, "", "http", None, 80.5])
def test_non_ports_fail(value):
    assert not port.port(value)


@pytest.mark.parametrize(
    ("value", "syntax"),
    [
        ("30s", "prometheus"),
        ("1h30m", "prometheus"),
        ("500ms", "prometheus"),
        ("4h", "prometheus"),
        ("3s", "haproxy"),
        ("500", "haproxy"),
        ("30m", "haproxy"),
        ("15min", "systemd"),
        ("1h 30min", "systemd"),
        ("90s", "systemd"),
        ("2 weeks", "systemd"),
    ],
)
def test_durations_in_their_syntax_pass(value, syntax):
    assert duration.duration(value, syntax)


@pytest.mark.parametrize(
    ("value", "syntax"),
    [
        ("30", "prometheus"),
        ("0s", "prometheus"),
        ("soon", "prometheus"),
        ("15min", "prometheus"),
        ("30 s", "prometheus"),
        ("1h30m", "haproxy"),
        ("-3s", "haproxy"),
        ("15mins?", "systemd"),
        ("", "systemd"),
        (30, "prometheus"),
    ],
)
def test_other_durations_fail(value, syntax):
    assert not duration.duration(value, syntax)


def test_an_unknown_syntax_is_an_error():
    with pytest.raises(ValueError, match="syntax must be one of"):
        duration.duration("30s", "cron")


@pytest.mark.parametrize("value", ["1m", "512k", "10G", "1048576"])
def test_sizes_pass(value):
    assert size.size(value)


@pytest.mark.parametrize("value", ["0", "0m", "1mb", "1.5m", "lots", "", "-1m", 1024])
def test_non_sizes_fail(value):
    assert not size.size(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        None,
        "changeme",
        "CHANGE_ME",
        "please-replace-me",
        "https://hooks.slack.com/services/T00000000/B00000000/replace-with-the-prod-webhook",
        "password",
        "Secret",
        "xxxxxxxxxxxxxxxx",
        "an-example-password-of-length",
        "TODO: set in vault",
    ],
)
def test_placeholders_are_recognised(value):
    assert placeholder_secret.placeholder_secret(value)


@pytest.mark.parametrize(
    "value", ["JELoP3t8XCjshVE-008IUZ92tUoNQM5M", "dev-registry-deployer-password", "q8Z-vT3mWc1Lr0pKd7Xy2NbE"]
)
def test_real_secrets_are_not_placeholders(value):
    assert not placeholder_secret.placeholder_secret(value)


def test_each_is_registered_under_its_name():
    for module in (port, duration, size, placeholder_secret):
        name = module.__name__.rsplit(".", 1)[-1]
        assert module.TestModule().tests()[name] is getattr(module, name)
