import os
import subprocess
import sys
from pathlib import Path

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
