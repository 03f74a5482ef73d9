"""The prod rehearsal (docs/rehearsal.md): `make rehearsal` from an empty emulator creates the AWS
layer from prod's own values, boots its instances as local hosts, configures every tier in one
site.yml and changes nothing on the second run; then a release goes out through the target group,
the API answers writes and reads through the ALB stand-in, the primary backs up into the
emulator's S3, Prometheus sees every target up and the logs leave for where Logstash would listen.

It starts and ends with `make rehearsal-down`. The tests run in file order and share the hosts.
"""

import ipaddress
import json
import os
import re
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest
import requests
import yaml
from conftest import ROOT, Webhook, run, start_listener, wait_for
from load import Load

ENV = os.environ.get("REHEARSAL_ENV", "prod")
AWS = yaml.safe_load((ROOT / f"inventories/{ENV}/group_vars/all/aws.yml").read_text())
GATEWAY = str(next(ipaddress.ip_network(AWS["aws_vpc_cidr"]).hosts()))
EMULATOR = f"http://{GATEWAY}:5002"
ALB = f"http://127.0.0.1:{18080 if ENV == 'prod' else 18081}"  # scripts/rehearsal.sh's ports
LOAD_RATE = 20  # requests/s through the ALB stand-in during the second release
AWS_ENV = dict(
    os.environ, AWS_URL=EMULATOR, AWS_ENDPOINT_URL=EMULATOR, AWS_ACCESS_KEY_ID="emulator",
    AWS_SECRET_ACCESS_KEY="emulator", AWS_DEFAULT_REGION=AWS["aws_region"], ENV=ENV,
)  # fmt: skip
INVENTORY = ["-i", f"inventories/{ENV}", "-i", "tests/rehearsal/inventory",
             *(["-i", "tests/rehearsal/prod"] if ENV == "prod" else []),
             "--vault-id", f"{ENV}@tests/vault/{ENV}.vault-pass"]  # fmt: skip


def emulator(service):
    return boto3.client(service, endpoint_url=EMULATOR, region_name=AWS["aws_region"],
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")  # fmt: skip


def on(rehearsal, host, *command, env=None):
    """Run a command in a rehearsal host (its container is named after its private address)."""
    extra = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    container = hostvar(rehearsal, host, "private_ip_address")
    return run("docker", "exec", *extra, container, *command).stdout.strip()


class Rehearsal(dict):
    """The rehearsal's facts; its repr leaves out the secrets pytest would print on a failure."""

    def __repr__(self):
        return f"<the {ENV} rehearsal: {len(self['inventory']['_meta']['hostvars'])} hosts>"


@pytest.fixture(scope="module")
def rehearsal():
    start = time.monotonic()
    # About 20 minutes alone on two cores; over 30 with the dev environment test beside it.
    up = run("make", "rehearsal", f"ENV={ENV}", timeout=3600, env=AWS_ENV)
    print(f"\nmake rehearsal ENV={ENV} (from nothing, site.yml twice): {time.monotonic() - start:.1f} s")
    print("\n".join(line for line in up.stdout.splitlines() if " run: " in line))
    # ansible-inventory marks the plugin's values as unsafe: {"__ansible_unsafe": value}.
    listing = json.loads(
        run("ansible-inventory", *INVENTORY, "--list", env=AWS_ENV).stdout,
        object_hook=lambda d: d["__ansible_unsafe"] if d.keys() == {"__ansible_unsafe"} else d,
    )
    secrets = yaml.safe_load(
        run("ansible-vault", "view", "--vault-id", f"{ENV}@tests/vault/{ENV}.vault-pass",
            f"inventories/{ENV}/group_vars/all/vault.yml").stdout
    )  # fmt: skip
    yield Rehearsal(up=up, inventory=listing, secrets=secrets)
    run("make", "rehearsal-down", f"ENV={ENV}", env=AWS_ENV)


def hosts(rehearsal, group):
    """The hosts of a group of the inventory, its children's included."""
    if group == "all":
        return sorted(rehearsal["inventory"]["_meta"]["hostvars"])
    entry = rehearsal["inventory"].get(group, {})
    children = [host for child in entry.get("children", []) for host in hosts(rehearsal, child)]
    return sorted(set(entry.get("hosts", []) + children))


def hostvar(rehearsal, host, name):
    return rehearsal["inventory"]["_meta"]["hostvars"][host][name]


def in_zone(rehearsal, group, zone_index):
    zone = AWS["aws_vpc_availability_zones"][zone_index]
    return next(h for h in hosts(rehearsal, group) if hostvar(rehearsal, h, "placement")["availability_zone"] == zone)


def test_the_second_site_run_changes_nothing(rehearsal):
    runs = dict(re.findall(r"(first|second) run: \d+ s, (\d+) changed", rehearsal["up"].stdout))
    assert int(runs["first"]) > 0 and int(runs["second"]) == 0, rehearsal["up"].stdout[-3000:]


def test_the_aws_layer_has_the_environments_layout(rehearsal):
    ec2, zones = emulator("ec2"), AWS["aws_vpc_availability_zones"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"onlywave-{ENV}"]}])["Vpcs"][0]
    assert vpc["CidrBlock"] == AWS["aws_vpc_cidr"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    cidrs = sorted(cidr for tier in AWS["aws_vpc_subnets"].values() for cidr in tier)
    assert sorted(s["CidrBlock"] for s in subnets) == cidrs
    assert {s["AvailabilityZone"] for s in subnets} == set(zones)
    nats = [n for n in ec2.describe_nat_gateways(Filter=in_vpc)["NatGateways"] if n["State"] == "available"]
    assert len(nats) == (len(zones) if AWS["aws_vpc_nat_gateways"] == "per_az" else 1)


def test_the_aws_ec2_inventory_spreads_each_tier_over_the_zones(rehearsal):
    zones = AWS["aws_vpc_availability_zones"]
    placed = {
        tier: Counter(hostvar(rehearsal, h, "placement")["availability_zone"] for h in hosts(rehearsal, tier))
        for tier in ("api", "database", "cache", "monitoring", "logging")
    }
    assert placed["api"] == Counter(zones)  # one per zone (prod has two; docs/rehearsal.md)
    assert placed["database"] == Counter(zones[:2]) and placed["cache"] == Counter(zones)
    assert placed["monitoring"] == placed["logging"] == Counter(zones[:1])
    assert hosts(rehearsal, "dashboards") == hosts(rehearsal, "monitoring")
    subnets = {s["SubnetId"]: s for s in emulator("ec2").describe_subnets()["Subnets"]}
    for host in hosts(rehearsal, "all"):
        subnet = subnets[hostvar(rehearsal, host, "subnet_id")]
        address = hostvar(rehearsal, host, "private_ip_address")
        assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet["CidrBlock"])
        assert address in on(rehearsal, host, "hostname", "-I").split()


def test_the_replica_in_the_second_zone_streams_from_the_primary_in_the_first(rehearsal):
    primary, replica = in_zone(rehearsal, "database", 0), in_zone(rehearsal, "database", 1)
    sql = "SELECT host(client_addr) || ' ' || state FROM pg_stat_replication"
    streaming = on(rehearsal, primary, "runuser", "-u", "postgres", "--", "psql", "-Atc", sql)
    assert streaming == f"{hostvar(rehearsal, replica, 'private_ip_address')} streaming"
    assert (
        on(rehearsal, replica, "runuser", "-u", "postgres", "--", "psql", "-Atc", "SELECT pg_is_in_recovery()") == "t"
    )


def test_three_sentinels_agree_on_the_primary_in_the_first_zone(rehearsal):
    primary = hostvar(rehearsal, in_zone(rehearsal, "cache", 0), "private_ip_address")
    auth = {"REDISCLI_AUTH": rehearsal["secrets"]["vault_redis_password"]}
    for host in hosts(rehearsal, "cache"):
        master = on(
            rehearsal, host, "redis-cli", "-p", "26379", "SENTINEL", "get-master-addr-by-name", "onlywave", env=auth
        )
        sentinels = on(
            rehearsal, host, "redis-cli", "-p", "26379", "SENTINEL", "master", "onlywave", env=auth
        ).splitlines()
        assert master.split() == [primary, "6379"]
        assert sentinels[sentinels.index("num-other-sentinels") + 1] == "2"
        assert sentinels[sentinels.index("num-slaves") + 1] == "1"


def test_a_release_goes_out_through_the_target_group_and_serves_writes_and_reads(rehearsal, webhook):
    start = time.monotonic()
    result = run(
        "scripts/rehearsal.sh", "deploy", "-e", "deploy_version=1.1.0", "-e", f"deploy_webhook_url={webhook}",
        env=AWS_ENV, timeout=1500,
    )  # fmt: skip
    print(f"\nfirst release to {len(hosts(rehearsal, 'api'))} API hosts: {time.monotonic() - start:.1f} s")
    assert "PLAY RECAP" in result.stdout and "failed=0" in result.stdout
    assert Webhook.received[-1]["text"].count("succeeded") == 1
    group = emulator("elbv2").describe_target_groups(Names=[f"onlywave-{ENV}-api"])["TargetGroups"][0]
    health = emulator("elbv2").describe_target_health(TargetGroupArn=group["TargetGroupArn"])
    registered = {t["Target"]["Id"] for t in health["TargetHealthDescriptions"]}
    assert registered == {hostvar(rehearsal, h, "instance_id") for h in hosts(rehearsal, "api")}

    def versions():
        answers = [requests.get(f"{ALB}/version", timeout=5) for _ in range(12)]
        return {a.text for a in answers} if all(a.status_code == 200 for a in answers) else None

    served, waited = wait_for("the release through the ALB stand-in", versions, 60)
    assert served == {'{"version": "1.1.0", "commit": "unknown"}'}
    note = requests.post(f"{ALB}/notes", json={"text": f"rehearsal {ENV}"}, timeout=10)
    assert note.status_code == 201, note.text
    read = requests.get(f"{ALB}/notes/{note.json()['id']}", timeout=10)
    assert read.status_code == 200 and read.json()["text"] == f"rehearsal {ENV}"
    print(f"ALB stand-in served the release {waited:.1f} s after the deploy; a note written and read back")


def watch_targets(arn, stop, seen):
    """Record the set of registered targets every 0.1 s until stop is set."""
    elb = emulator("elbv2")
    while not stop.is_set():
        seen.append(
            {t["Target"]["Id"] for t in elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]}
        )
        time.sleep(0.1)


def test_a_second_release_rolls_out_under_load_one_host_at_a_time(rehearsal, webhook):
    arn = emulator("elbv2").describe_target_groups(Names=[f"onlywave-{ENV}-api"])["TargetGroups"][0]["TargetGroupArn"]
    ids = {hostvar(rehearsal, h, "instance_id") for h in hosts(rehearsal, "api")}
    stop, seen = threading.Event(), []
    watcher = threading.Thread(target=watch_targets, args=(arn, stop, seen))
    watcher.start()
    try:
        with Load(f"{ALB}/version", rate=LOAD_RATE) as load:
            result = run(
                "scripts/rehearsal.sh", "deploy", "-e", "deploy_version=1.2.0",
                "-e", f"deploy_webhook_url={webhook}", env=AWS_ENV, timeout=1500, check=False,
            )  # fmt: skip
    finally:
        stop.set()
        watcher.join()
    summary = load.summary()
    out_of_rotation = [ids - registered for registered in seen]
    print(f"\nsecond release under {LOAD_RATE} requests/s through the ALB stand-in: {summary}")
    assert result.returncode == 0, result.stdout[-3000:]
    # Each host left the target group once for its swap, never two at a time, and all are back.
    assert all(len(out) <= 1 for out in out_of_rotation)
    assert {next(iter(out)) for out in out_of_rotation if out} == ids
    assert seen[-1] == ids
    assert summary["non_2xx"] == 0 and summary["errors"] == 0, summary
    assert set(summary["versions"]) <= {"1.1.0", "1.2.0"} and summary["versions"].get("1.2.0", 0) > 0


def test_the_primary_dumps_into_the_emulators_backups_bucket(rehearsal):
    primary, replica = in_zone(rehearsal, "database", 0), in_zone(rehearsal, "database", 1)
    on(rehearsal, primary, "systemctl", "start", "onlywave-backup.service")
    keys = [o["Key"] for o in emulator("s3").list_objects_v2(Bucket=AWS["aws_s3_backups_bucket"])["Contents"]]
    dumps = [k for k in keys if k.endswith(".dump")]
    assert len(dumps) == 1 and f"{dumps[0]}.sha256" in keys, keys
    # The replica has no dump job: only the primary's timer exists.
    assert "onlywave-backup.timer" not in on(rehearsal, replica, "systemctl", "list-timers", "--all", "--no-pager")


def prometheus(rehearsal, query):
    address = hostvar(rehearsal, hosts(rehearsal, "monitoring")[0], "private_ip_address")
    return requests.get(f"http://{address}:9090/api/v1/query?" + urlencode({"query": query}), timeout=10).json()


def test_prometheus_sees_every_target_of_every_tier_up(rehearsal):
    def all_up():
        up = prometheus(rehearsal, "up")["data"]["result"]
        return up if up and all(series["value"][1] == "1" for series in up) else None

    up, _ = wait_for("every target up", all_up, 120, every=2)
    jobs = Counter(series["metric"]["job"] for series in up)
    servers = [h for h in hosts(rehearsal, "cache") if hostvar(rehearsal, h, "placement")["availability_zone"]
               != AWS["aws_vpc_availability_zones"][-1]]  # fmt: skip
    print(f"Prometheus targets up, by job: {dict(jobs)}")
    assert jobs["node"] == len(hosts(rehearsal, "all"))
    assert jobs["postgresql"] == len(hosts(rehearsal, "database"))
    assert jobs["redis"] == len(servers)
    assert jobs["api"] == len(hosts(rehearsal, "api"))


def test_the_api_logs_leave_for_where_logstash_would_listen(rehearsal):
    logging_host = hosts(rehearsal, "logging")[0]
    received = start_listener(
        hostvar(rehearsal, logging_host, "private_ip_address"), "tcp", 5044, "/var/tmp/shipped.jsonl"
    )
    for _ in range(20):
        requests.get(f"{ALB}/version", timeout=5)

    def from_every_api_host():
        senders = {line["host"] for line in received() if line["source"] == "docker"}
        return senders if len(senders) == len(hosts(rehearsal, "api")) else None

    senders, seconds = wait_for("API lines from every API host", from_every_api_host, 90, every=2)
    print(f"log lines from {sorted(senders)} at the logging host after {seconds:.1f} s")


def test_make_rehearsal_down_leaves_nothing(rehearsal):
    run("make", "rehearsal-down", f"ENV={ENV}", env=AWS_ENV)
    left = run("docker", "ps", "-aq", "--filter", f"label=org.onlywave.rehearsal={ENV}").stdout.split()
    assert left == [] and not Path(ROOT, f".cache/rehearsal-{ENV}").exists()
