import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["dev", "staging", "prod"]


class Facts(dict):
    """A test environment's facts. Its repr names the environment only: pytest prints a fixture's
    repr on a failure, and these facts hold decrypted vault values."""

    def __init__(self, name, **facts):
        super().__init__(**facts)
        self.name = name

    def __repr__(self):
        return f"<{self.name}: {', '.join(sorted(self))}; values not shown>"


def inventory_args(env):
    """The -i and --vault-id arguments that render one environment's inventory."""
    if env == "dev":
        return ["-i", "inventories/dev"]
    return [
        "-i",
        f"inventories/{env}",
        "-i",
        "tests/integration/tier-probes.yml",
        "--vault-id",
        f"{env}@tests/vault/{env}.vault-pass",
    ]


def run(*args, check=True, timeout=900, env=None):
    """Run a command from the repository root; return the CompletedProcess (text)."""
    env = dict(env or os.environ)
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"
    )
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return result


def emulator_url():
    """The local AWS emulator's address (make aws), as scripts/aws.sh computes it."""
    return subprocess.run([ROOT / "scripts/aws.sh", "url"], capture_output=True, text=True, check=True).stdout.strip()


EMULATOR_URL = emulator_url()


def emulator_client(service):
    """A boto3 client of the emulator, with its dummy keys."""
    return boto3.client(
        service, endpoint_url=EMULATOR_URL, region_name="eu-west-1",
        aws_access_key_id="emulator", aws_secret_access_key="emulator",
    )  # fmt: skip


def aws_leftovers(client):
    """What an account still holds of what playbooks/aws.yml makes, by kind (client: a service's
    name to its boto3 client). After a destroy, every list must be empty."""
    ec2, iam, elb, waf = client("ec2"), client("iam"), client("elbv2"), client("wafv2")
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running", "pending"]}])
    return {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
        "nat_gateways": [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"],
        "addresses": ec2.describe_addresses()["Addresses"],
        "flow_logs": ec2.describe_flow_logs()["FlowLogs"],
        "instances": [i for r in running["Reservations"] for i in r["Instances"]],
        "roles": iam.list_roles()["Roles"],
        "instance_profiles": iam.list_instance_profiles()["InstanceProfiles"],
        "oidc_providers": iam.list_open_id_connect_providers()["OpenIDConnectProviderList"],
        "buckets": client("s3").list_buckets()["Buckets"],
        "repositories": client("ecr").describe_repositories()["repositories"],
        "load_balancers": elb.describe_load_balancers()["LoadBalancers"],
        "target_groups": elb.describe_target_groups()["TargetGroups"],
        "web_acls": waf.list_web_acls(Scope="REGIONAL")["WebACLs"],
        "ip_sets": waf.list_ip_sets(Scope="REGIONAL")["IPSets"],
        "log_groups": client("logs").describe_log_groups()["logGroups"],
        "certificates": client("acm").list_certificates()["CertificateSummaryList"],
    }


class Webhook(BaseHTTPRequestHandler):
    """Receives the deploy notifications on 127.0.0.1."""

    received: ClassVar[list] = []

    def do_POST(self):
        Webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def start_listener(container, kind, port, path):
    """Start listener.py inside a host container; return a function that reads what it received."""
    # Not into /tmp: docker cp cannot write into the container's tmpfs mounts.
    run("docker", "cp", "tests/integration/listener.py", f"{container}:/usr/local/bin/onlywave-test-listener")
    run("docker", "exec", container, "sh", "-c", f": > {path}")
    run("docker", "exec", "-d", container, "python3", "/usr/local/bin/onlywave-test-listener", kind, str(port), path)

    def received():
        out = run("docker", "exec", container, "cat", path).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    return received


def wait_for(what, check, timeout, every=1.0):
    """Poll check() until it returns something true; return (it, seconds taken)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        found = check()
        if found:
            return found, time.monotonic() - start
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout} s")


def leaked(log, secrets):
    """The names of the vault values that the log shows: as they are, URL-quoted, hex-encoded
    (a RESP AUTH in a check), or as their SHA-256 (Redis ACL hashes)."""

    def forms(value):
        raw = str(value)
        return {raw, quote(raw, safe=""), raw.encode().hex(), hashlib.sha256(raw.encode()).hexdigest()}

    return sorted(name for name, value in secrets.items() if any(form in log for form in forms(value)))
