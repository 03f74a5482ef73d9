#!/usr/bin/env python3
"""A no-op run of this checkout against the same run of an earlier commit, in turns, on the same hosts.

The earlier commit is cloned into .cache/bench-against/<commit> (with this
checkout's virtualenv), and the two take turns: earlier, this, earlier, this...
so that both meet the same machine. Each run prints its wall time, the machine's
CPU time over it (all processes, from /proc/stat), and the recap's changed and
ok counts; then, per playbook, the medians and their ratio (this / earlier). A
run that changes anything is flagged: a no-op is what is compared.

--own-hosts is for a commit whose roles cannot share hosts with this checkout's
(issue 18's goals are ratios to the code of the day it was filed, 57980d9):
each side gets a dev environment of its own, one after the other. The emulator
is emptied and `make up` run from the side's checkout (its cold time is
printed), then its runs; the next side's `make down` removes it. The earlier
commit goes first, and this checkout's environment is left up at the end.

Usage: .venv/bin/python benchmarks/site_against.py COMMIT [--runs N] [--playbook P ...] [--own-hosts]
Needs: the dev environment up (make up), converged by this checkout; with
--own-hosts, make setup image aws only (a running dev environment is removed).
Logs: .cache/bench-against/<label>-<playbook>-<n>.log
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".cache" / "bench-against"


def machine_cpu_seconds():
    """CPU time used by every process so far (user, nice, system, irq, softirq), in seconds."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def checkout(commit):
    """A clone of the repository at `commit`, sharing this checkout's virtualenv."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = WORK / sha[:12]
    if not target.is_dir():
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(target)], check=True)
        subprocess.run(["git", "checkout", "-q", sha], cwd=target, check=True)
        (target / ".venv").symlink_to(ROOT / ".venv")
    return target


def command(label, directory, name, *args):
    """Run a command from `directory`, logged; return (wall s, machine CPU s, log text). A failure stops."""
    log = WORK / f"{label}-{name}.log"
    environment = dict(
        os.environ, ANSIBLE_FORCE_COLOR="0", PATH=f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}"
    )
    cpu, start = machine_cpu_seconds(), time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(args, cwd=directory, env=environment, stdout=out, stderr=subprocess.STDOUT)
    wall, cpu = time.monotonic() - start, machine_cpu_seconds() - cpu
    if result.returncode != 0:
        sys.exit(f"{label}: {' '.join(args)} failed ({result.returncode}); log: {log}")
    return wall, cpu, log.read_text()


def own_hosts(label, directory):
    """Give `directory` a dev environment of its own: empty the emulator, then its cold `make up`."""
    command(label, ROOT, "down", "make", "down")
    command(label, ROOT, "aws", "make", "aws")
    url = subprocess.run(["scripts/aws.sh", "url"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    urllib.request.urlopen(urllib.request.Request(f"{url.strip()}/moto-api/reset", method="POST"), timeout=30)
    wall, cpu, _ = command(label, directory, "up", "make", "up")
    print(f"{label:8} cold make up: {wall:6.1f} s, machine CPU {cpu:6.1f} s", flush=True)


def run(label, directory, playbook, number):
    """Run the playbook from `directory`; return (wall s, machine CPU s)."""
    wall, cpu, text = command(label, directory, f"{Path(playbook).stem}-{number}", "ansible-playbook", playbook)
    counts = re.findall(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)", text, re.M)
    ok, changed = sum(int(o) for o, _ in counts), sum(int(c) for _, c in counts)
    flag = "" if changed == 0 else "  <- not a no-op"
    print(f"{label:8} {playbook} run {number}: {wall:6.1f} s, machine CPU {cpu:6.1f} s, ", end="")
    print(f"changed={changed}, ok={ok}{flag}", flush=True)
    return wall, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", help="the earlier commit (any git revision)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, in turns (default 3)")
    parser.add_argument(
        "--playbook", action="append", help="a playbook from the repository root; repeat for more (default site.yml)"
    )
    parser.add_argument(
        "--own-hosts", action="store_true", help="a dev environment for each side in turn, not shared (see above)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        sys.exit("--runs must be at least 1")
    playbooks = args.playbook or ["site.yml"]
    WORK.mkdir(parents=True, exist_ok=True)
    sides = {"earlier": checkout(args.commit), "this": ROOT}
    results = {(label, playbook): [] for label in sides for playbook in playbooks}
    if args.own_hosts:
        for label, directory in sides.items():
            own_hosts(label, directory)
            for number in range(1, args.runs + 1):
                for playbook in playbooks:
                    results[label, playbook].append(run(label, directory, playbook, number))
    else:
        for number in range(1, args.runs + 1):
            for label, directory in sides.items():
                for playbook in playbooks:
                    results[label, playbook].append(run(label, directory, playbook, number))
    for playbook in playbooks:
        (wall_before, cpu_before), (wall_now, cpu_now) = (
            [statistics.median(column) for column in zip(*results[label, playbook], strict=True)] for label in sides
        )
        print(
            f"{playbook}, medians of {args.runs}: {args.commit} {wall_before:.1f} s (CPU {cpu_before:.1f} s), "
            f"this checkout {wall_now:.1f} s (CPU {cpu_now:.1f} s); "
            f"ratio {wall_now / wall_before:.2f} (CPU {cpu_now / cpu_before:.2f})"
        )


if __name__ == "__main__":
    main()
