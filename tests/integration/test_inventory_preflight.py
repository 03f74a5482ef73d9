"""Every inventory passes the site's preflight; bad values fail it, naming the
variable, before any host is touched."""

import json

import pytest
from conftest import ENVIRONMENTS, inventory_args, run


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_inventory_passes_preflight(env):
    result = run("ansible-playbook", "playbooks/preflight.yml", *inventory_args(env))
    assert "failed=0" in result.stdout
    assert "unreachable=" in result.stdout and "unreachable=1" not in result.stdout


BAD_VALUES = [
    ({"postgresql_memory_mb": 100}, "postgresql_memory_mb must be at least 256"),
    ({"postgresql_port": "not-a-port"}, "postgresql_port"),
    ({"postgresql_databases": [{"name": "x", "owner": "nobody"}]}, "the owner must be a user in postgresql_users"),
    ({"postgresql_hba_rules": [{"address": "10.0.0.1/8"}]}, "postgresql_hba_rules"),
    ({"postgresql_hba_rules": [{"method": "trust", "address": "all"}]}, "postgresql_hba_rules"),
    ({"redis_maxmemory": "", "redis_maxmemory_policy": "allkeys-lru"}, "needs redis_maxmemory"),
    ({"redis_maxmemory": "lots"}, "redis_maxmemory must be empty or a size"),
    ({"redis_password": "short"}, "redis_password must have at least 16 characters"),
    ({"redis_persistence": "sometimes"}, "redis_persistence"),
    ({"redis_primary_address": "cache1.internal"}, "redis_primary_address must be an IP address"),
    ({"redis_server": False, "redis_sentinel": False}, "the host would run nothing"),
    ({"postgresql_replication_password": "short"}, "postgresql_replication_password must have at least 16"),
    (  # without Patroni (prod runs it, and Patroni ignores these)
        {"postgresql_patroni": False, "postgresql_replication_role": "replica", "postgresql_primary": "nosuchhost"},
        "postgresql_primary must name the primary's inventory host",
    ),
    ({"postgresql_replication_sources": ["10.0.0.1"]}, "postgresql_replication_sources must be networks"),
    (
        {"postgresql_hba_rules": [{"type": "host", "database": "all", "user": "all", "address": "0.0.0.0/0"}]},
        "admit every address: name the networks",
    ),
    ({"postgresql_users": [{"name": "onlywave", "password": ""}]}, "a password must have at least 16 characters"),
    ({"backup_assets_bucket": "Not_A_Bucket"}, "backup_assets_bucket must be empty or an S3 bucket name"),
    ({"node_exporter_port": 70000}, "node_exporter_port must be a TCP port"),
    ({"postgres_exporter_password": ""}, "postgres_exporter_password must not be empty"),
    ({"docker_ecr_registries": ["ecr.example.com"]}, "docker_ecr_registries ['ecr.example.com']: each must be"),
    ({"redis_port": 70000}, "redis_port and redis_sentinel_port must be two different ports"),
    ({"postgres_exporter_db_port": 0}, "postgres_exporter_port and postgres_exporter_db_port must be ports"),
    ({"backup_randomized_delay": "soon"}, "backup_randomized_delay must be a systemd time span"),
    ({"backup_retention": {"daily": "seven"}}, "backup_retention's counts and max_age_days must be whole numbers"),
    (  # 12 monthly backups against the bucket's 30-day lifecycle rule
        {"backup_retention": {"monthly": 12}},
        "backup_retention keeps backups up to 372 days old",
    ),
    ({"redis_users": [{"name": "app", "password": "changeme-changeme"}]}, "a password must have at least 16"),
]


@pytest.mark.parametrize(("extra_vars", "message"), BAD_VALUES, ids=[next(iter(v[0])) for v in BAD_VALUES])
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_bad_value_fails_preflight_naming_the_variable(env, extra_vars, message):
    result = run("ansible-playbook", "site.yml", *inventory_args(env), "-e", json.dumps(extra_vars), check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    # Nothing ran past preflight: no task of any role's main flow, no change.
    assert "Install PostgreSQL" not in output
    assert "Install Redis" not in output
    assert "changed=1" not in output


# prod (with its probe hosts) has a monitoring host, an etcd member and a primary proxy.
PROD_BAD_VALUES = [
    ({"prometheus_retention_days": 0}, "prometheus_retention_days must be at least 1"),
    ({"alertmanager_default_receiver": "nobody"}, "'nobody' is not in alertmanager_receivers"),
    ({"primary_proxy_check_interval": "often"}, "primary_proxy_check_interval must be a duration"),
    ({"primary_proxy_redis_port": 70000}, "Ports must be 1-65535: {'primary_proxy_redis_port': 70000}"),
    ({"postgresql_patroni_etcd_hosts": ["etcd1"]}, "postgresql_patroni_etcd_hosts entries must be address:port"),
    ({"alertmanager_group_wait": "soon"}, "alertmanager_group_wait, alertmanager_group_interval and"),
    (
        {"vault_alertmanager_slack_url": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX"},
        "empty or placeholders: vault_alertmanager_slack_url",
    ),
    (
        {"vault_alertmanager_slack_url": "http://hooks.slack.com/services/TONLYWAVE1/BPROD/k3y"},
        "alertmanager_receivers ['ops', 'on-call'] send notifications off the host in plain HTTP",
    ),
    (
        {"postgresql_hba_rules": [{"type": "host", "database": "onlywave", "address": "10.20.0.0/16"}]},
        "admit clients without TLS (type host or hostnossl): use type hostssl",
    ),
    ({"postgresql_hba_allow_plaintext": True}, "postgresql_hba_allow_plaintext may be true in dev only"),
    ({"redis_tls": False}, "redis_tls false would open a plaintext listener"),
    ({"postgresql_tls": False}, "postgresql_tls false would open a plaintext listener"),
    ({"etcd_tls": False}, "etcd_tls false would open a plaintext listener"),
    ({"postgresql_patroni_rest_tls": False}, "postgresql_patroni_rest_tls false would open a plaintext listener"),
    ({"redis_exporter_ca_cert": ""}, "redis_exporter_redis_address and redis_exporter_ca_cert disagree"),
]


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    PROD_BAD_VALUES,
    ids=[
        "retention",
        "receiver",
        "proxy-interval",
        "proxy-port",
        "etcd",
        "group-wait",
        "placeholder-secret",
        "plain-http",
        "plaintext-rule",
        "dev-only-allowance",
        "redis-plaintext",
        "postgresql-plaintext",
        "etcd-plaintext",
        "patroni-rest-plaintext",
        "redis-exporter-tls",
    ],
)
def test_a_bad_prod_value_fails_preflight(extra_vars, message):
    result = run("ansible-playbook", "site.yml", *inventory_args("prod"), "-e", json.dumps(extra_vars), check=False)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert "changed=1" not in result.stdout


@pytest.mark.parametrize(("env", "refused"), [("dev", False), ("staging", True), ("prod", True)])
def test_an_empty_vault_value_is_refused_outside_dev(env, refused):
    result = run(
        "ansible-playbook", "playbooks/preflight.yml", *inventory_args(env), "-e", "vault_example_token=", check=False
    )
    output = result.stdout + result.stderr
    assert (result.returncode != 0) == refused
    assert ("empty or placeholders: vault_example_token" in output) is True
    assert ("WARNING: these vault values are empty or placeholders" in output) == (not refused)


DEPLOY_BAD_VALUES = [
    ({"deploy_load_balancer": "nginx"}, "deploy_load_balancer must be haproxy or aws_target_group"),
    ({"deploy_load_balancer": "aws_target_group"}, "these have none: api1, api2, api3"),
    ({"deploy_load_balancer": "aws_target_group", "deploy_target_group": "a_b"}, "deploy_target_group must be"),
    (
        {"deploy_webhook_url": "http://hooks.example.org/deploys"},
        "deploy_webhook_url sends the deploy's status off the host",
    ),
]


@pytest.mark.parametrize(
    ("extra_vars", "message"), DEPLOY_BAD_VALUES, ids=["balancer", "target-ids", "target-group", "plain-webhook"]
)
def test_a_bad_deploy_value_fails_before_anything_is_built(extra_vars, message):
    result = run(
        "ansible-playbook", "playbooks/deploy.yml", "-e", "deploy_version=9.9.9", "-e", json.dumps(extra_vars),
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stdout
    assert "Build the image" not in result.stdout
