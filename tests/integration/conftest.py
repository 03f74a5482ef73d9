import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ["dev", "staging", "prod"]


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
