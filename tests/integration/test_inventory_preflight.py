"""Every inventory passes the site's preflight; bad values fail it, naming the
variable, before any host is touched.

Each bad value goes to a made-up host of its own (a case host), in the tier group
whose preflight reads it, with the inventory entry of that group's model host
(dev: its first host; staging and prod: its probe in tier-probes.yml). One
site.yml per environment then checks every case at once: each case host must
fail, naming its variable, and nothing may run past preflight. That is 2 runs
instead of 67 (about 8 s each). Values that only localhost reads (the vault's)
cannot sit on a host: they keep runs of their own.
"""

import ipaddress
import json
import os

import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT, inventory_args, run


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


def with_ids(cases):
    """{id: (extra_vars, message)}: the id is the first variable's name, numbered when repeated."""
    ids, seen = [], {}
    for extra_vars, _ in cases:
        name = next(iter(extra_vars))
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return dict(zip(ids, cases, strict=True))


BAD_VALUES = with_ids(BAD_VALUES)

# prod (with its probe hosts) has a monitoring host, an etcd member and a primary proxy.
PROD_BAD_VALUES = {
    "retention": ({"prometheus_retention_days": 0}, "prometheus_retention_days must be at least 1"),
    "receiver": ({"alertmanager_default_receiver": "nobody"}, "'nobody' is not in alertmanager_receivers"),
    "proxy-interval": ({"primary_proxy_check_interval": "often"}, "primary_proxy_check_interval must be a duration"),
    "proxy-port": ({"primary_proxy_redis_port": 70000}, "Ports must be 1-65535: {'primary_proxy_redis_port': 70000}"),
    "etcd": (
        {"postgresql_patroni_etcd_hosts": ["etcd1"]},
        "postgresql_patroni_etcd_hosts entries must be address:port",
    ),
    "group-wait": ({"alertmanager_group_wait": "soon"}, "alertmanager_group_wait, alertmanager_group_interval and"),
    "plain-http": (
        {"vault_alertmanager_slack_url": "http://hooks.slack.com/services/TONLYWAVE1/BPROD/k3y"},
        "alertmanager_receivers ['ops', 'on-call'] send notifications off the host in plain HTTP",
    ),
    "plaintext-rule": (
        {"postgresql_hba_rules": [{"type": "host", "database": "onlywave", "address": "10.20.0.0/16"}]},
        "admit clients without TLS (type host or hostnossl): use type hostssl",
    ),
    "dev-only-allowance": (
        {"postgresql_hba_allow_plaintext": True},
        "postgresql_hba_allow_plaintext may be true in dev only",
    ),
    "redis-plaintext": ({"redis_tls": False}, "redis_tls false would open a plaintext listener"),
    "postgresql-plaintext": ({"postgresql_tls": False}, "postgresql_tls false would open a plaintext listener"),
    "etcd-plaintext": ({"etcd_tls": False}, "etcd_tls false would open a plaintext listener"),
    "patroni-rest-plaintext": (
        {"postgresql_patroni_rest_tls": False},
        "postgresql_patroni_rest_tls false would open a plaintext listener",
    ),
    "redis-exporter-tls": (
        {"redis_exporter_ca_cert": ""},
        "redis_exporter_redis_address and redis_exporter_ca_cert disagree",
    ),
}

CASE_GROUPS = [  # which tier group's preflight reads a variable, by its name's prefix
    ("postgres", "database"),  # postgresql_* and postgres_exporter_*
    ("backup_", "database"),
    ("node_exporter_", "database"),
    ("redis_", "cache"),
    ("etcd_", "cache"),  # prod's etcd members are its cache hosts
    ("docker_", "api"),
    ("primary_proxy_", "api"),
    ("prometheus_", "monitoring"),
    ("alertmanager_", "monitoring"),
    ("vault_alertmanager_", "monitoring"),  # read through alertmanager_receivers
]


def case_group(extra_vars):
    name = next(iter(extra_vars))
    return next(group for prefix, group in CASE_GROUPS if name.startswith(prefix))


def model_hosts(env):
    """The inventory entry of one host per tier group: what a case host copies."""
    if env == "dev":
        tiers = yaml.safe_load((ROOT / "inventories/dev/hosts.yml").read_text())["dev_containers"]["children"]
    else:
        tiers = yaml.safe_load((ROOT / "tests/integration/tier-probes.yml").read_text())
    return {group: next(iter(entry["hosts"].values())) for group, entry in tiers.items() if entry.get("hosts")}


def failure_messages(node):
    """Every msg of a failed result, its loop items' included."""
    if isinstance(node, list):
        return [message for item in node for message in failure_messages(item)]
    if not isinstance(node, dict):
        return []
    own = [str(node["msg"])] if node.get("failed") and "msg" in node else []
    return own + failure_messages(node.get("results", []))


def etcd_tiers(env):
    """The tier groups whose hosts are etcd members (inventories/<env>/hosts.yml: etcd's children).
    A case host there joins etcd, whose preflight wants an odd count of members at distinct
    addresses."""
    groups = yaml.safe_load((ROOT / f"inventories/{env}/hosts.yml").read_text()).get("all", {}).get("children", {})
    return list((groups.get("etcd") or {}).get("children") or {})  # dev: none (it runs no etcd)


def case_inventory(env, cases):
    """The case hosts (case-<id>) and a control host with no bad value per tier group used
    (control-<group>), each with its model host's entry; on AWS-made inventories, each at an
    address of its own. One more control joins an etcd tier when the members would be even."""
    models, entries = model_hosts(env), {}
    for case_id, (extra_vars, _) in cases.items():
        entries[f"case-{case_id}"] = (case_group(extra_vars), extra_vars)
    for group in sorted({group for group, _ in entries.values()}):
        entries[f"control-{group}"] = (group, {})
    tiers = etcd_tiers(env)
    # Each etcd tier has one model host (tier-probes.yml) besides its case and control hosts.
    if tiers and (len(tiers) + sum(group in tiers for group, _ in entries.values())) % 2 == 0:
        entries[f"control-{tiers[0]}-2"] = (tiers[0], {})
    groups = {}
    for index, (host, (group, extra_vars)) in enumerate(entries.items()):
        entry = {**models[group], **extra_vars}
        if "private_ip_address" in entry:
            entry["private_ip_address"] = str(ipaddress.ip_address(entry["private_ip_address"]) + 100 + index)
        groups.setdefault(group, {"hosts": {}})["hosts"][host] = entry
    return {"all": {"children": groups}}


def site_with_cases(env, cases, directory):
    """site.yml on env's inventory plus the case inventory: each host's failure messages, the
    names of the tasks that ran and the recap's stats."""
    cases_file = directory / f"{env}-cases.yml"
    cases_file.write_text(yaml.safe_dump(case_inventory(env, cases)))
    result = run(
        "ansible-playbook", "site.yml", *inventory_args(env), "-i", str(cases_file), check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
    )  # fmt: skip
    report, _ = json.JSONDecoder().raw_decode(result.stdout)  # the timer's line follows the report
    messages, tasks = {}, []
    for play in report["plays"]:
        for task in play["tasks"]:
            tasks.append(task["task"]["name"])
            for host, outcome in task["hosts"].items():
                messages.setdefault(host, []).extend(failure_messages(outcome))
    return {"cases": cases, "returncode": result.returncode, "messages": messages, "tasks": tasks,
            "stats": report["stats"]}  # fmt: skip


@pytest.fixture(scope="module")
def case_runs(tmp_path_factory):
    """site.yml with every case host of an environment, once per environment."""
    runs = {}

    def outcome(env):
        if env not in runs:
            cases = {**BAD_VALUES, **(PROD_BAD_VALUES if env == "prod" else {})}
            runs[env] = site_with_cases(env, cases, tmp_path_factory.mktemp(env))
        return runs[env]

    return outcome


def assert_fails_naming_it(outcome, case_id):
    message = outcome["cases"][case_id][1]
    failures = outcome["messages"].get(f"case-{case_id}", [])
    assert any(message in failure for failure in failures), failures


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_case_hosts_stop_the_run_in_preflight(case_runs, env):
    outcome = case_runs(env)
    assert outcome["returncode"] != 0
    # Nothing ran past preflight: no task of any role's main flow, no change on any host.
    assert "Install PostgreSQL" not in outcome["tasks"] and "Install Redis" not in outcome["tasks"]
    assert all(stats["changed"] == 0 for stats in outcome["stats"].values()), outcome["stats"]
    failed = {host for host, stats in outcome["stats"].items() if stats["failures"]}
    assert {f"case-{case_id}" for case_id in outcome["cases"]} <= failed
    # The control hosts, case hosts with no bad value, pass: a case host fails for its value alone.
    controls = {host for host in outcome["stats"] if host.startswith("control-")}
    assert controls and not controls & failed, outcome["messages"]


@pytest.mark.parametrize("case_id", BAD_VALUES)
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_bad_value_fails_preflight_naming_the_variable(case_runs, env, case_id):
    assert_fails_naming_it(case_runs(env), case_id)


@pytest.mark.parametrize("case_id", PROD_BAD_VALUES)
def test_a_bad_prod_value_fails_preflight(case_runs, case_id):
    assert_fails_naming_it(case_runs("prod"), case_id)


def test_a_placeholder_vault_value_fails_preflight_on_the_controller():
    placeholder = {"vault_alertmanager_slack_url": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXX"}
    result = run("ansible-playbook", "site.yml", *inventory_args("prod"), "-e", json.dumps(placeholder), check=False)
    assert result.returncode != 0
    assert "empty or placeholders: vault_alertmanager_slack_url" in result.stdout + result.stderr
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
    ({"deploy_load_balancer": "nginx"}, "deploy_load_balancer must be one of: haproxy, aws_target_group, got: nginx"),
    ({"deploy_load_balancer": "aws_target_group"}, "these have none: api1, api2, api3"),
    ({"deploy_load_balancer": "aws_target_group", "deploy_target_group": "a_b"}, "deploy_target_group must be"),
    (
        {"deploy_webhook_url": "http://hooks.example.org/deploys"},
        "deploy_webhook_url sends the deploy's status off the host",
    ),
    ({"deploy_ready_timeout": 0, "deploy_serial": "x"}, "deploy_ready_timeout must be 1 to 3600 seconds; it is 0."),
]


@pytest.mark.parametrize(
    ("extra_vars", "message"),
    DEPLOY_BAD_VALUES,
    ids=["balancer", "target-ids", "target-group", "plain-webhook", "ready-timeout"],
)
def test_a_bad_deploy_value_fails_before_anything_is_built(extra_vars, message):
    result = run(
        "ansible-playbook", "playbooks/deploy.yml", "-e", "deploy_version=9.9.9", "-e", json.dumps(extra_vars),
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stdout
    assert "Build the image" not in result.stdout
