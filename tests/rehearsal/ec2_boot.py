"""The rehearsal's stand-in for EC2 booting instances: one systemd container per instance.

The AWS layer (playbooks/aws.yml, run by site.yml) creates the environment's instances in the
local emulator, which boots nothing. This watches the emulator and, for each running instance
tagged Project=onlywave and Environment=<env>, starts a host container from the local image:

- named after the instance's private address, which the environment's own aws_ec2 inventory
  gives each host as its ansible_host (compose: ansible_host: private_ip_address): SSH would
  connect there, `docker exec` reaches the container of that name;
- on the rehearsal's VPC network, at the instance's private address, so the subnet, and so the
  zone, the emulator chose for it is the one the host really sits in;
- with what Debian's cloud image gives a new instance: the `admin` user with passwordless sudo;
- with what AWS gives it: the registry's name resolved to the rehearsal's ECR stand-in
  (--add-host), whose CA the host trusts as it trusts AWS's (--trust-ca).

A container whose instance is gone (terminated) is removed. Test harness only: nothing in the
collection depends on this file. Its loop is bounded by --watch seconds.
"""

import argparse
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import boto3

LABEL = "org.onlywave.rehearsal"
# Until systemd has started every unit ("degraded" only means one failed); its bus comes up first.
BOOTED = ("for i in $(seq 60); do case $(systemctl is-system-running --wait 2>/dev/null) in "
          "running|degraded) exit 0;; esac; sleep 1; done; exit 1")  # fmt: skip
# What Debian's cloud-init sets up on a new instance: the default user with sudo.
CLOUD_INIT = (
    "id admin >/dev/null 2>&1 || useradd --create-home --shell /bin/bash admin; "
    "echo 'admin ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/90-cloud-init-users; "
    "chmod 0440 /etc/sudoers.d/90-cloud-init-users"
)


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout.split()


def running_instances(ec2, env):
    filters = [
        {"Name": "tag:Project", "Values": ["onlywave"]},
        {"Name": "tag:Environment", "Values": [env]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]},
    ]
    pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
    return {i["PrivateIpAddress"]: i for page in pages for r in page["Reservations"] for i in r["Instances"]}


def boot(instance, args):
    name = instance["PrivateIpAddress"]
    tier = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "tier"), "")
    docker(
        "run", "--detach", "--name", name, "--hostname", instance["PrivateDnsName"].split(".")[0],
        "--network", args.network, "--ip", name,
        *[f"--add-host={host}" for host in args.add_host],
        # systemd as PID 1, and room for a Docker engine, nftables and PostgreSQL inside.
        "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_PTRACE",
        "--security-opt", "seccomp=unconfined",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
        "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--volume", "/var/lib/docker",
        "--stop-signal", "SIGRTMIN+3",
        "--label", f"{LABEL}={args.env}", "--label", f"org.onlywave.instance-id={instance['InstanceId']}",
        "--label", f"org.onlywave.tier={tier}",
        args.image, "/lib/systemd/systemd",
    )  # fmt: skip
    try:
        # What cloud-init does once the instance has booted.
        docker("exec", name, "sh", "-c", BOOTED)
        docker("exec", name, "sh", "-c", CLOUD_INIT)
        if args.trust_ca:
            docker("cp", args.trust_ca, f"{name}:/usr/local/share/ca-certificates/onlywave-rehearsal.crt")
            docker("exec", name, "update-ca-certificates")
    except subprocess.CalledProcessError as error:
        # Removed, so that the next round boots it again.
        docker("rm", "--force", "--volumes", name)
        print(f"ec2_boot: {instance['InstanceId']} failed to boot ({error.stderr.strip()}); again", flush=True)
        return
    print(f"ec2_boot: {instance['InstanceId']} ({tier}, {instance['Placement']['AvailabilityZone']}) "
          f"is container {name}", flush=True)  # fmt: skip


def reconcile(ec2, args):
    wanted = running_instances(ec2, args.env)
    present = set(docker("ps", "-a", "--filter", f"label={LABEL}={args.env}", "--format", "{{.Names}}"))
    for name in sorted(present - wanted.keys()):
        docker("rm", "--force", "--volumes", name)
        print(f"ec2_boot: removed {name}: its instance is gone", flush=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: boot(wanted[name], args), sorted(wanted.keys() - present)))
    return len(wanted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--network", required=True)
    parser.add_argument("--image", default="onlywave/host:bookworm")
    parser.add_argument("--add-host", action="append", default=[], help="NAME:ADDRESS for every host's /etc/hosts")
    parser.add_argument("--trust-ca", help="a CA certificate every host trusts")
    parser.add_argument("--watch", type=float, default=0, help="keep reconciling for this many seconds")
    args = parser.parse_args()
    ec2 = boto3.client("ec2")  # endpoint, region and keys from the environment (AWS_ENDPOINT_URL, ...)
    deadline = time.monotonic() + args.watch
    while True:
        count = reconcile(ec2, args)
        if time.monotonic() >= deadline:
            break
        time.sleep(2)
    print(f"ec2_boot: {count} instances, each a container", flush=True)


if __name__ == "__main__":
    main()
