"""The prod rehearsal (docs/rehearsal.md): `make rehearsal` from an empty emulator creates the AWS
layer from prod's own values, boots its instances as local hosts and configures every tier in one
site.yml; then a release goes out through the target group, the API answers writes and reads
through the ALB stand-in, the Patroni leader backs up into the emulator's S3, Prometheus sees every
target up and the logs leave for where Logstash would listen; then the drills, then site.yml once
more, which must change nothing (it is the rehearsal's second run: `make rehearsal` alone runs a
second one at once, the test leaves it out), and last the AWS layer's destroy.

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

import boto3
import pytest
import requests
import yaml
from conftest import ROOT, Facts, Webhook, aws_leftovers, leaked, run, start_listener, wait_for
from load import Load

ENV = os.environ.get("REHEARSAL_ENV", "prod")
AWS = yaml.safe_load((ROOT / f"inventories/{ENV}/group_vars/all/aws.yml").read_text())
GATEWAY = str(next(ipaddress.ip_network(AWS["aws_vpc_cidr"]).hosts()))
EMULATOR = f"http://{GATEWAY}:5002"
ALB = f"http://127.0.0.1:{18080 if ENV == 'prod' else 18081}"  # scripts/rehearsal.sh's ports
LOAD_RATE = 20  # requests/s through the ALB stand-in during the second release
REDIS_CLI = ("redis-cli", "--tls", "--cacert", "/etc/redis/tls/ca.crt")  # Redis speaks TLS only
ETCD_TLS = "/etc/etcd/tls"  # the member's certificate logs etcdctl in, over TLS
ETCDCTL = ("etcdctl", "--endpoints", "https://127.0.0.1:2379", "--cacert", f"{ETCD_TLS}/ca.crt")
ETCDCTL += ("--cert", f"{ETCD_TLS}/etcd.crt", "--key", f"{ETCD_TLS}/etcd.key")
AWS_ENV = dict(
    os.environ, AWS_URL=EMULATOR, AWS_ENDPOINT_URL=EMULATOR, AWS_ACCESS_KEY_ID="emulator",
    AWS_SECRET_ACCESS_KEY="emulator", AWS_DEFAULT_REGION=AWS["aws_region"], ENV=ENV,
)  # fmt: skip
# site.yml's runs at -vvv with --diff: test_no_vault_value_appears_in_the_site_logs reads their logs.
VERBOSE_ENV = {**AWS_ENV, "ANSIBLE_VERBOSITY": "3", "ANSIBLE_DIFF_ALWAYS": "True"}
INVENTORY = ["-i", f"inventories/{ENV}", "-i", "tests/rehearsal/inventory",
             *(["-i", "tests/rehearsal/prod"] if ENV == "prod" else []),
             "--vault-id", f"{ENV}@tests/vault/{ENV}.vault-pass"]  # fmt: skip


def emulator(service):
    return boto3.client(service, endpoint_url=EMULATOR, region_name=AWS["aws_region"],
                        aws_access_key_id="emulator", aws_secret_access_key="emulator")  # fmt: skip


def on(rehearsal, host, *command, env=None, check=True):
    """Run a command in a rehearsal host (its container is named after its private address); its
    output. With check=False, None when it fails (a host that is still starting, say)."""
    extra = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    container = hostvar(rehearsal, host, "private_ip_address")
    answer = run("docker", "exec", *extra, container, *command, check=check)
    return answer.stdout.strip() if answer.returncode == 0 else None


@pytest.fixture(scope="module")
def rehearsal():
    start = time.monotonic()
    # About 20 minutes alone on two cores; over 30 with the dev environment test beside it.
    up = run("make", "rehearsal", f"ENV={ENV}", timeout=3600, env={**VERBOSE_ENV, "REHEARSAL_RERUN": "0"})
    print(f"\nmake rehearsal ENV={ENV} (from nothing, site.yml once): {time.monotonic() - start:.1f} s")
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
    yield Facts(f"the {ENV} rehearsal", up=up, inventory=listing, secrets=secrets)
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


def test_the_first_site_run_creates_everything(rehearsal):
    first = re.findall(r"first run: \d+ s, (\d+) changed", rehearsal["up"].stdout)
    assert first and int(first[0]) > 0, rehearsal["up"].stdout[-3000:]


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
    # Each zone's private subnets leave through a NAT gateway (their zone's, with one per zone)
    # and reach S3 through its gateway endpoint; the public subnets through the internet gateway.
    zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets}
    nat_zone = {n["NatGatewayId"]: zone_of[n["SubnetId"]] for n in nats}
    tables = {}
    for table in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]:
        name = next((t["Value"] for t in table.get("Tags", []) if t["Key"] == "Name"), None)
        default = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        subnet_zones = sorted(zone_of[a["SubnetId"]] for a in table["Associations"] if a.get("SubnetId"))
        tables[name] = (table["RouteTableId"], subnet_zones, default)
    assert tables[f"onlywave-{ENV}-public"][1] == sorted(zones)
    assert tables[f"onlywave-{ENV}-public"][2][0]["GatewayId"].startswith("igw-")
    private_ids = []
    for zone in zones:
        table_id, subnet_zones, default = tables[f"onlywave-{ENV}-private-{zone[-1:]}"]
        assert subnet_zones == [zone, zone]  # its app and data subnets
        if AWS["aws_vpc_nat_gateways"] == "per_az":
            assert nat_zone[default[0]["NatGatewayId"]] == zone
        private_ids.append(table_id)
    endpoints = ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
    assert [sorted(e["RouteTableIds"]) for e in endpoints if e["ServiceName"].endswith(".s3")] == [sorted(private_ids)]


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


# A GET from inside a host; an https URL is verified with the environment's CA
# (the postgresql role's copy of it: Patroni's REST API speaks HTTPS).
FETCH = (
    "import ssl, sys, urllib.request; url = sys.argv[1]; context = ssl.create_default_context("
    "cafile='/etc/ssl/certs/onlywave-ca.crt') if url.startswith('https:') else None;"
    " print(urllib.request.urlopen(url, timeout=5, context=context).read().decode())"
)


def get_on(rehearsal, host, port, path, scheme="http"):
    """GET <scheme>://<host's address>:<port><path> from inside that host; its body, None if it failed."""
    address = hostvar(rehearsal, host, "private_ip_address")
    return on(rehearsal, host, "python3", "-c", FETCH, f"{scheme}://{address}:{port}{path}", check=False)


def patroni_cluster_on(rehearsal, host):
    """Patroni's view of the cluster, from its REST API on one database host."""
    answer = get_on(rehearsal, host, 8008, "/cluster", scheme="https")
    if answer is None:
        raise RuntimeError(f"Patroni on {host} does not answer")
    return json.loads(answer)


def patroni_cluster(rehearsal):
    return patroni_cluster_on(rehearsal, hosts(rehearsal, "database")[0])


def streams(rehearsal, leading, member):
    """Whether `member` streams from the leader `leading` (its pg_stat_replication; Patroni 3.0.2's
    REST API says "running" for a replica, streaming or not)."""
    sql = f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{member}' AND state = 'streaming'"
    return on(rehearsal, leading, "runuser", "-u", "postgres", "--", "psql", "-Atc", sql, check=False) == "1"


def leader(rehearsal, asking=None):
    """The member that leads, as Patroni on `asking` (default: the first database host) says."""
    members = patroni_cluster_on(rehearsal, asking or hosts(rehearsal, "database")[0])["members"]
    return next(m["name"] for m in members if m["role"] == "leader")


def test_patroni_leads_with_every_other_member_streaming_and_etcd_has_its_members(rehearsal):
    members = patroni_cluster(rehearsal)["members"]
    database = hosts(rehearsal, "database")
    assert sorted(m["name"] for m in members) == database
    assert [m["role"] for m in members].count("leader") == 1
    replicas = [m for m in members if m["role"] != "leader"]
    assert all(streams(rehearsal, leader(rehearsal), m["name"]) for m in replicas), members
    if replicas:  # synchronous_mode: the replica acknowledges every commit
        assert [m["role"] for m in replicas].count("sync_standby") == 1, members
    etcd = hosts(rehearsal, "etcd")
    listed = json.loads(
        on(rehearsal, etcd[0], *ETCDCTL, "member", "list", "--write-out", "json", env={"ETCDCTL_API": "3"})
    )
    assert sorted(m["name"] for m in listed["members"]) == sorted(etcd)
    assert all(url.startswith("https://") for m in listed["members"] for url in m["peerURLs"]), listed
    print(f"Patroni: leader {leader(rehearsal)}, {len(replicas)} streaming replica(s); etcd: {len(etcd)} members")


def test_three_sentinels_agree_on_the_primary_in_the_first_zone(rehearsal):
    primary = hostvar(rehearsal, in_zone(rehearsal, "cache", 0), "private_ip_address")
    auth = {"REDISCLI_AUTH": rehearsal["secrets"]["vault_redis_password"]}
    for host in hosts(rehearsal, "cache"):
        master = on(
            rehearsal, host, *REDIS_CLI, "-p", "26379", "SENTINEL", "get-master-addr-by-name", "onlywave", env=auth
        )
        sentinels = on(
            rehearsal, host, *REDIS_CLI, "-p", "26379", "SENTINEL", "master", "onlywave", env=auth
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


def test_the_api_containers_reach_the_leader_and_the_redis_primary_through_their_hosts_proxy(rehearsal):
    probe = (
        "import os, psycopg2, redis\n"
        "with psycopg2.connect(os.environ['DATABASE_URL']) as db, db.cursor() as cur:\n"
        "    cur.execute('SELECT host(inet_server_addr()), pg_is_in_recovery()')\n"
        "    print(*cur.fetchone())\n"
        "print(redis.Redis.from_url(os.environ['REDIS_URL']).set('onlywave:rehearsal', 'proxied'))\n"
    )
    expected = f"{hostvar(rehearsal, leader(rehearsal), 'private_ip_address')} False\nTrue"
    for api in hosts(rehearsal, "api"):
        assert on(rehearsal, api, "docker", "exec", "onlywave-api-1", "python3", "-c", probe) == expected


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


def test_only_the_leader_dumps_into_the_emulators_backups_bucket(rehearsal):
    now_leading = leader(rehearsal)
    for host in hosts(rehearsal, "database"):
        on(rehearsal, host, "systemctl", "start", "onlywave-backup.service")
    keys = [o["Key"] for o in emulator("s3").list_objects_v2(Bucket=AWS["aws_s3_backups_bucket"])["Contents"]]
    dumps = [k for k in keys if k.endswith(".dump")]
    assert len(dumps) == 1 and f"{dumps[0]}.sha256" in keys, keys
    for host in hosts(rehearsal, "database"):
        said = on(rehearsal, host, "journalctl", "-u", "onlywave-backup.service", "--no-pager", "-o", "cat")
        assert ("is a replica" in said) == (host != now_leading), said


def prometheus_targets(rehearsal):
    """The targets of Prometheus's configuration now. (Not the query `up`: for 5 minutes after a
    restart it still returns the targets of the configuration before, here Debian's default one,
    which scrapes localhost for the moment between the package's install and the role's file.)"""
    address = hostvar(rehearsal, hosts(rehearsal, "monitoring")[0], "private_ip_address")
    answer = requests.get(f"http://{address}:9090/api/v1/targets?state=active", timeout=10).json()
    return answer["data"]["activeTargets"]


def test_prometheus_sees_every_target_of_every_tier_up(rehearsal):
    def all_up():
        targets = prometheus_targets(rehearsal)
        return targets if targets and all(target["health"] == "up" for target in targets) else None

    up, _ = wait_for("every target up", all_up, 120, every=2)
    jobs = Counter(target["labels"]["job"] for target in up)
    servers = [h for h in hosts(rehearsal, "cache") if hostvar(rehearsal, h, "placement")["availability_zone"]
               != AWS["aws_vpc_availability_zones"][-1]]  # fmt: skip
    print(f"Prometheus targets up, by job: {dict(jobs)}")
    assert jobs["node"] == len(hosts(rehearsal, "all"))
    assert jobs["postgresql"] == len(hosts(rehearsal, "database"))
    assert jobs["redis"] == len(servers)
    assert jobs["api"] == len(hosts(rehearsal, "api"))
    assert jobs["etcd"] == len(hosts(rehearsal, "etcd"))


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


# Issue 16's drills, in prod's rehearsal, each under a steady 30 requests/s through the ALB
# stand-in: /version, reads of a cached note and writes, 10 requests/s each.


def steady_load():
    cached = requests.post(f"{ALB}/notes", json={"text": "cached before the drill"}, timeout=10).json()["id"]
    requests.get(f"{ALB}/notes/{cached}", timeout=10)
    return (
        Load(f"{ALB}/version", rate=10),
        Load(f"{ALB}/notes/{cached}", rate=10, workers=4),
        Load(f"{ALB}/notes", rate=10, workers=4, body={"text": "written during a drill"}),
    )


def under_steady_load(fault, then):
    """fault() 3 s into steady_load(), then then() while the load goes on; returns the loads, when
    the fault began and what then() returned."""
    loads = steady_load()
    with loads[0], loads[1], loads[2]:
        time.sleep(3)
        began = time.monotonic()
        fault()
        result = then()
    return loads, began, result


def drill_figures(loads, since):
    """Requests, failures and the error window (the last failed request's start, seconds after `since`)."""
    version, reads, writes = loads
    every = version.outcomes + reads.outcomes + writes.outcomes
    failed = [o for o in every if not o.ok]
    return {
        "requests": len(every),
        "failed": len(failed),
        "version_failed": len([o for o in version.outcomes if not o.ok]),
        "reads_failed": len([o for o in reads.outcomes if not o.ok]),
        "writes_failed": len([o for o in writes.outcomes if not o.ok]),
        "failed_kinds": sorted({(o.status, o.error) for o in failed}),
        "error_window_s": round(max((o.started - since for o in failed), default=0.0), 1),
    }


def skip_without_replicas():
    if ENV != "prod":
        pytest.skip(f"{ENV} runs one host of each data tier: nothing to fail over to (prod's rehearsal drills it)")


def redis_primary(rehearsal, asking):
    """The Redis primary's address, as the Sentinel on the cache host `asking` names it."""
    auth = {"REDISCLI_AUTH": rehearsal["secrets"]["vault_redis_password"]}
    ask = [*REDIS_CLI, "-p", "26379", "SENTINEL", "get-master-addr-by-name", "onlywave"]
    answer = on(rehearsal, asking, *ask, env=auth)
    return answer.split()[0] if answer else None


def in_last_zone(rehearsal, group):
    return in_zone(rehearsal, group, len(AWS["aws_vpc_availability_zones"]) - 1)


def test_drill_the_postgresql_leader_killed_under_load(rehearsal):
    skip_without_replicas()
    old = leader(rehearsal)
    survivor = next(h for h in hosts(rehearsal, "database") if h != old)
    container = hostvar(rehearsal, old, "private_ip_address")

    def new_leader():
        try:
            members = patroni_cluster_on(rehearsal, survivor)["members"]
        except (RuntimeError, ValueError, KeyError):
            return None
        lead = [m["name"] for m in members if m["role"] == "leader" and m["state"] == "running"]
        return lead[0] if lead and lead[0] != old else None

    def elected_then_ten_seconds():
        found = wait_for("another member leads", new_leader, 90, every=1)
        time.sleep(10)
        return found

    loads, killed, (elected, led_after) = under_steady_load(
        lambda: run("docker", "kill", container), elected_then_ten_seconds
    )
    figures = drill_figures(loads, killed)
    acknowledged = [o.created for o in loads[2].outcomes if o.created is not None]
    stored = on(
        rehearsal, elected, "runuser", "-u", "postgres", "--", "psql", "-d", "onlywave", "-Atc",
        f"SELECT count(*) FROM notes WHERE id IN ({','.join(str(int(i)) for i in acknowledged)})",
    )  # fmt: skip
    figures.update(new_leader_after_s=round(led_after, 1), acknowledged=len(acknowledged), on_new_leader=int(stored))
    print(f"\ndrill, PostgreSQL leader {old} killed: {figures}")
    run("docker", "start", container)

    def rejoined():
        return streams(rehearsal, elected, old) or None

    _, rejoined_after = wait_for("the old leader streams again", rejoined, 180, every=2)
    print(f"the old leader {old} streams from {elected} {rejoined_after:.1f} s after its container started")
    assert figures["version_failed"] == 0 and figures["reads_failed"] == 0, figures
    assert figures["error_window_s"] <= 30, figures
    assert figures["acknowledged"] > 0 and figures["on_new_leader"] == figures["acknowledged"], figures


def test_drill_the_redis_primary_killed_under_load(rehearsal):
    skip_without_replicas()
    watcher = in_last_zone(rehearsal, "cache")  # runs only a Sentinel
    primary = redis_primary(rehearsal, watcher)
    host = next(h for h in hosts(rehearsal, "cache") if hostvar(rehearsal, h, "private_ip_address") == primary)

    def ready_three_times():
        return all(requests.get(f"{ALB}/ready", timeout=5).status_code == 200 for _ in range(3)) or None

    def ready_then_five_seconds():
        time.sleep(1)
        _, waited = wait_for("every API host ready on the new primary", ready_three_times, 60, every=0.5)
        time.sleep(5)
        return waited + 1

    loads, killed, ready_after = under_steady_load(lambda: run("docker", "kill", primary), ready_then_five_seconds)
    figures = drill_figures(loads, killed)
    figures.update(api_ready_after_s=round(ready_after, 1), new_primary=redis_primary(rehearsal, watcher))
    print(f"\ndrill, Redis primary {host} killed: {figures}")
    run("docker", "start", primary)
    auth = {"REDISCLI_AUTH": rehearsal["secrets"]["vault_redis_password"]}

    def a_replica_again():  # redis-cli fails until the server is up again
        return (
            "role:slave" in (on(rehearsal, host, *REDIS_CLI, "INFO", "replication", env=auth, check=False) or "")
            or None
        )

    _, back_after = wait_for("the old Redis primary is a replica", a_replica_again, 120, every=2)
    print(f"the old Redis primary {host} replicates from {figures['new_primary']} {back_after:.1f} s after its start")
    assert figures["new_primary"] not in (None, primary), figures
    assert figures["failed"] == 0, figures
    assert figures["api_ready_after_s"] <= 10, figures


def test_drill_one_api_host_killed_under_load(rehearsal):
    host = hosts(rehearsal, "api")[0]
    container = hostvar(rehearsal, host, "private_ip_address")
    loads, killed, _ = under_steady_load(lambda: run("docker", "kill", container), lambda: time.sleep(25))
    figures = drill_figures(loads, killed)
    every = loads[0].outcomes + loads[1].outcomes + loads[2].outcomes
    # The stand-in checks every 2 s and takes a target out after 2 failures (AWS's: every 5 s).
    figures["failed_10s_after"] = len([o for o in every if not o.ok and o.started >= killed + 10])
    print(f"\ndrill, API host {host} killed: {figures}")
    run("docker", "start", container)
    _, back_after = wait_for("the API host serves again", lambda: get_on(rehearsal, host, 8000, "/health"), 180, 2)
    print(f"the API host {host} answered /health {back_after:.1f} s after its container started")
    assert figures["failed_10s_after"] == 0, figures


def test_drill_one_zone_stopped_under_load(rehearsal):
    skip_without_replicas()
    # The zone of the PostgreSQL leader: the worst one to lose. (Prod has fewer database hosts
    # than zones: every member is up here, so any of them can tell who leads.)
    zone = hostvar(rehearsal, leader(rehearsal), "placement")["availability_zone"]
    stopped = [h for h in hosts(rehearsal, "all") if hostvar(rehearsal, h, "placement")["availability_zone"] == zone]
    containers = [hostvar(rehearsal, h, "private_ip_address") for h in stopped]
    loads, killed, _ = under_steady_load(lambda: run("docker", "kill", *containers), lambda: time.sleep(75))
    figures = drill_figures(loads, killed)
    print(f"\ndrill, zone {zone} stopped ({', '.join(stopped)}): {figures}")
    run("docker", "start", *containers)
    outside = in_last_zone(rehearsal, "cache")
    database = [h for h in hosts(rehearsal, "database") if h in stopped]
    survivor = next(h for h in hosts(rehearsal, "database") if h not in stopped)

    def back():
        now_leading = leader(rehearsal, asking=survivor)
        streaming = all(streams(rehearsal, now_leading, h) for h in database if h != now_leading)
        return (streaming and redis_primary(rehearsal, outside) is not None) or None

    _, back_after = wait_for("the zone's PostgreSQL member streams again", back, 180, every=2)
    print(f"the zone's hosts are back: their PostgreSQL member streams {back_after:.1f} s after they started")
    assert figures["error_window_s"] <= 60, figures


def test_site_yml_after_the_releases_and_the_drills_changes_nothing(rehearsal):
    start = time.monotonic()
    # At -vvv with --diff, as the first run (test_no_vault_value_appears_in_the_site_logs reads both).
    result = run("scripts/rehearsal.sh", "site", env=VERBOSE_ENV, timeout=1800, check=False)
    Path(ROOT, f".cache/rehearsal-{ENV}/site-again.log").write_text(result.stdout + result.stderr)
    recap = result.stdout[result.stdout.rfind("PLAY RECAP") :]
    print(f"\nsite.yml after the releases and the drills: {time.monotonic() - start:.1f} s")
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.findall(r"changed=(\d+)", recap) and set(re.findall(r"changed=(\d+)", recap)) == {"0"}, recap


def test_no_vault_value_appears_in_the_site_logs_at_vvv_with_diff(rehearsal):
    logs = [Path(ROOT, f".cache/rehearsal-{ENV}/site-{run}.log").read_text() for run in ("first", "again")]
    assert all("ESTABLISH" in log for log in logs) and "--- before" in logs[0]  # -vvv and --diff were on
    assert len(rehearsal["secrets"]) >= 10
    assert leaked("".join(logs), rehearsal["secrets"]) == []


def test_the_aws_layer_destroy_is_refused_without_confirmation_then_leaves_nothing(rehearsal):
    destroy = ("ansible-playbook", "playbooks/aws_destroy.yml", *INVENTORY)
    if ENV == "prod":
        refused = run(*destroy, env=AWS_ENV, check=False)
        assert refused.returncode != 0 and "aws_destroy_confirm=prod" in refused.stdout
        vpcs = emulator("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"onlywave-{ENV}"]}])["Vpcs"]
        assert vpcs
    start = time.monotonic()
    result = run(*destroy, "-e", f"aws_destroy_confirm={ENV}", env=AWS_ENV, timeout=1200, check=False)
    print(f"\nAWS layer destroy: {time.monotonic() - start:.1f} s")
    assert result.returncode == 0, result.stdout[-3000:]
    # Nothing left, the backups bucket (it held the leader's dumps) included. The ACM certificate
    # is the operator's, issued before the first run (tests/rehearsal/account.py): it stays.
    left = aws_leftovers(emulator)
    assert {kind: found for kind, found in left.items() if found and kind != "certificates"} == {}


def test_make_rehearsal_down_leaves_nothing(rehearsal):
    run("make", "rehearsal-down", f"ENV={ENV}", env=AWS_ENV)
    left = run("docker", "ps", "-aq", "--filter", f"label=org.onlywave.rehearsal={ENV}").stdout.split()
    assert left == [] and not Path(ROOT, f".cache/rehearsal-{ENV}").exists()
