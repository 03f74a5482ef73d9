"""`make up` from nothing; the services answer through their real interfaces;
a re-run changes nothing; `make down` leaves nothing.

This replaces a running dev environment: it starts with `make down`. The AWS
layer (site.yml's `aws` tag) has its own test, test_aws_layer.py, so it is
skipped here.
"""

import json
import time

import pytest
import yaml
from conftest import run


def docker_lines(*args):
    return [line for line in run("docker", *args).stdout.splitlines() if line]


def dev_resources():
    return {
        "containers": docker_lines("ps", "-aq", "--filter", "label=org.onlywave.environment=dev"),
        "networks": docker_lines("network", "ls", "-q", "--filter", "label=org.onlywave.environment=dev"),
        "volumes": docker_lines("volume", "ls", "-q"),
    }


@pytest.fixture(scope="module")
def dev_environment():
    run("ansible-playbook", "playbooks/dev_down.yml")
    volumes_before = set(dev_resources()["volumes"])
    start = time.monotonic()
    run("ansible-playbook", "playbooks/dev_up.yml")
    converge = run("ansible-playbook", "site.yml", "--skip-tags", "aws")
    print(f"cold make up (containers + site.yml): {time.monotonic() - start:.1f} s")
    secrets = yaml.safe_load(run("ansible-vault", "view", "inventories/dev/group_vars/all/vault.yml").stdout)
    yield {"converge": converge, "secrets": secrets, "volumes_before": volumes_before}
    run("ansible-playbook", "playbooks/dev_down.yml")


def test_the_application_user_queries_postgresql_with_its_password(dev_environment):
    password = dev_environment["secrets"]["vault_postgresql_app_password"]
    result = run(
        "docker", "exec", "-e", f"PGPASSWORD={password}", "onlywave-dev-db1",
        "psql", "-h", "127.0.0.1", "-U", "onlywave", "-d", "onlywave", "-Atc",
        "SELECT current_user || ' ' || (SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto')",
    )  # fmt: skip
    assert result.stdout.strip() == "onlywave 1"


def test_redis_refuses_anonymous_clients_and_answers_the_password(dev_environment):
    anonymous = run("docker", "exec", "onlywave-dev-cache1", "redis-cli", "PING")
    assert "NOAUTH" in anonymous.stdout
    password = dev_environment["secrets"]["vault_redis_password"]
    ping = run("docker", "exec", "-e", f"REDISCLI_AUTH={password}", "onlywave-dev-cache1", "redis-cli", "PING")
    assert ping.stdout.strip() == "PONG"


def test_the_hosts_sit_on_their_tier_networks_only(dev_environment):
    for container in ("onlywave-dev-db1", "onlywave-dev-cache1"):
        inspect = json.loads(run("docker", "inspect", container).stdout)[0]
        assert sorted(inspect["NetworkSettings"]["Networks"]) == ["onlywave-dev-data"]


def test_a_second_run_changes_nothing(dev_environment):
    rerun = run("ansible-playbook", "site.yml", "--skip-tags", "aws")
    recap = [line for line in rerun.stdout.splitlines() if "ok=" in line and "changed=" in line]
    assert recap and all("changed=0 " in line and "failed=0 " in line for line in recap), "\n".join(recap)


def test_make_down_leaves_no_container_network_or_volume(dev_environment):
    run("ansible-playbook", "playbooks/dev_down.yml")
    left = dev_resources()
    assert left["containers"] == []
    assert left["networks"] == []
    assert set(left["volumes"]) <= dev_environment["volumes_before"]
