#!/usr/bin/env python3
"""What site.yml costs on the dev environment, and how that grows with API hosts.

Prints, each with the run's changed count:
  1. cold `make up` (from no container: hosts, site.yml, URLs);
  2. an idempotent re-run of site.yml (pipelining on, the project's setting), and of
     playbooks/aws.yml alone (the AWS layer against the emulator; goal 25 s);
  3. the same re-run with pipelining off, and with Mitogen's mitogen_linear
     strategy (installed into .cache/mitogen, not into the virtualenv), as
     ratios of (2);
  4. the re-run with 1, 3 and 6 API hosts: the dev inventory, copied with that
     many API hosts, is brought up and applied once, then re-run and timed.
It ends with `make down` unless --keep is given.

Usage: .venv/bin/python benchmarks/dev_site.py [--runs N] [--keep] [--steps cold,aws,pipelining,mitogen,scale]
Needs: make setup image aws. Every run's log: .cache/bench-dev-site/<name>.log
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".cache" / "bench-dev-site"
MITOGEN = ROOT / ".cache" / "mitogen"
API_HOST_COUNTS = (1, 3, 6)


def run(name, *args, env=None, check=True):
    """Run a command from the repository root, log it, and return (seconds, changed count).

    A failed command stops the benchmark, or with check=False returns a changed count of None.
    """
    log = WORK / f"{name}.log"
    environment = dict(os.environ, ANSIBLE_FORCE_COLOR="0", **(env or {}))
    environment["PATH"] = f"{ROOT / '.venv/bin'}{os.pathsep}{environment['PATH']}"
    start = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(args, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    text = log.read_text()
    if result.returncode != 0 and not check:
        return seconds, None
    if result.returncode != 0:
        sys.exit(f"{name}: {' '.join(args)} failed ({result.returncode}); log: {log}\n{text[-3000:]}")
    changed = sum(int(n) for n in re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", text, re.M))
    return seconds, changed


def site(name, inventory="inventories/dev", env=None, runs=1):
    """Re-run site.yml `runs` times; return the median time and the largest changed count."""
    results = [run(f"{name}-{i}", "ansible-playbook", "site.yml", "-i", inventory, env=env) for i in range(runs)]
    seconds = statistics.median(r[0] for r in results)
    changed = max(r[1] for r in results)
    print(f"{name}: {seconds:.1f} s (median of {runs}), changed={changed}", flush=True)
    return seconds, changed


def mitogen_env():
    """The environment that selects Mitogen's strategy, after installing it; None if it cannot be installed."""
    if not (MITOGEN / "ansible_mitogen").is_dir():
        pip = [str(ROOT / ".venv/bin/pip"), "install", "-q", "--target", str(MITOGEN), "mitogen"]
        if subprocess.run(pip, check=False).returncode != 0:
            return None
    return {
        "PYTHONPATH": str(MITOGEN),
        "ANSIBLE_STRATEGY_PLUGINS": str(MITOGEN / "ansible_mitogen/plugins/strategy"),
        "ANSIBLE_STRATEGY": "mitogen_linear",
    }


def compare_mitogen(base):
    """Re-run site.yml with Mitogen's strategy and print its ratio to `base`, or why it failed."""
    mitogen = mitogen_env()
    if mitogen is None:
        print("mitogen: could not be installed from PyPI", flush=True)
        return
    # Mitogen takes over only the connections it knows by their short names.
    inventory = dev_inventory("mitogen", connection="docker")
    name = "re-run, mitogen_linear"
    seconds, changed = run(name, "ansible-playbook", "site.yml", "-i", inventory, env=mitogen, check=False)
    if changed is None:
        log = WORK / f"{name}.log"
        errors = [line for line in log.read_text().splitlines() if "ERROR" in line or "fatal:" in line]
        print(f"{name}: failed after {seconds:.1f} s (log: {log}); first error: {errors[:1]}", flush=True)
    else:
        print(f"{name}: {seconds:.1f} s, changed={changed}; ratio to pipelining on: {seconds / base:.2f}", flush=True)


def dev_inventory(name, api_hosts=None, connection=None):
    """A copy of inventories/dev: its api group with `api_hosts` hosts in the dev layout's
    addresses, and its hosts reached through `connection`, where given."""
    target = WORK / f"inventory-{name}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "inventories/dev", target)
    if api_hosts:
        hosts_file = target / "hosts.yml"
        hosts = yaml.safe_load(hosts_file.read_text())
        hosts["dev_containers"]["children"]["api"]["hosts"] = {
            f"api{n}": {
                "ansible_host": f"onlywave-dev-api{n}",
                "dev_addresses": {"app": f"10.30.1.{20 + n}", "data": f"10.30.2.{20 + n}"},
            }
            for n in range(1, api_hosts + 1)
        }
        hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    if connection:
        settings = target / "group_vars/dev_containers/main.yml"
        text = re.sub(
            r"^ansible_connection: .*$", f"ansible_connection: {connection}", settings.read_text(), flags=re.M
        )
        settings.write_text(text)
    return str(target)


def scale(runs, baseline_hosts):
    """Re-run time with 1, 3 and 6 API hosts; API containers beyond the count are stopped."""
    times = {}
    for count in sorted(API_HOST_COUNTS, key=lambda n: (n != baseline_hosts, n)):
        inventory = dev_inventory(f"api{count}", api_hosts=count)
        for n in range(count + 1, max(API_HOST_COUNTS) + 1):
            subprocess.run(["docker", "stop", f"onlywave-dev-api{n}"], capture_output=True, check=False)
        run(f"api{count}-up", "ansible-playbook", "playbooks/dev_up.yml", "-i", inventory)
        converge, changed = run(f"api{count}-converge", "ansible-playbook", "site.yml", "-i", inventory)
        print(f"{count} API hosts: converge {converge:.1f} s, changed={changed}", flush=True)
        times[count] = site(f"re-run, {count} API hosts", inventory, runs=runs)[0]
    for n in range(max(API_HOST_COUNTS), baseline_hosts, -1):
        subprocess.run(["docker", "rm", "-f", "-v", f"onlywave-dev-api{n}"], capture_output=True, check=False)
    return times


def compare_api_hosts(runs):
    """Print the re-run time with 1, 3 and 6 API hosts, and its growth."""
    api_hosts = yaml.safe_load((ROOT / "inventories/dev/hosts.yml").read_text())["dev_containers"]["children"]["api"]
    times = scale(runs, len(api_hosts["hosts"]))
    one = times[min(times)]
    ratios = ", ".join(f"{n}: {s:.1f} s ({s / one:.2f}x)" for n, s in sorted(times.items()))
    print(f"re-run time by API hosts: {ratios}")
    per_host = (times[max(times)] - one) / (max(times) - min(times))
    print(f"each API host beyond the first adds {per_host:.1f} s to the re-run")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="timed re-runs per setting (the median is printed)")
    parser.add_argument("--keep", action="store_true", help="leave the dev environment up")
    parser.add_argument(
        "--steps", default="cold,aws,pipelining,mitogen,scale", help="a comma-separated subset (the re-run always runs)"
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    steps = args.steps.split(",")
    if "cold" in steps:
        run("down", "make", "down")
        cold, changed = run("cold-make-up", "make", "up")
        print(f"cold make up: {cold:.1f} s, changed={changed}", flush=True)

    base, changed = site("re-run, pipelining on", runs=args.runs)
    if changed:
        sys.exit(f"the re-run changed {changed} things: site.yml is not idempotent on dev")
    if "aws" in steps:
        aws, changed = run("re-run, AWS layer alone", "ansible-playbook", "playbooks/aws.yml")
        print(f"re-run, AWS layer alone (playbooks/aws.yml): {aws:.1f} s, changed={changed}", flush=True)
    if "pipelining" in steps:
        off = site("re-run, pipelining off", env={"ANSIBLE_PIPELINING": "False"}, runs=args.runs)[0]
        print(f"pipelining off / on: {off / base:.2f}", flush=True)
    if "mitogen" in steps:
        compare_mitogen(base)
    if "scale" in steps:
        compare_api_hosts(args.runs)

    if args.keep and "scale" in steps:
        run("restore", "ansible-playbook", "site.yml")
    elif not args.keep:
        run("down-end", "make", "down")


if __name__ == "__main__":
    main()
