import json
import sys
from pathlib import Path

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from moto import mock_aws

# collections/ansible_collections/onlywave/infra links to the repository root,
# so the collection's plugins import as ansible_collections.onlywave.infra.*.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))


@pytest.fixture
def run_module(capsys, monkeypatch):
    """Run a module's main() with the given arguments; return its result (exit or fail JSON).

    AWS modules reach moto's in-process mock (the test enables it); dummy
    credentials and a region are set for them.
    """
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)

    def run(main, args, check_mode=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
        with patch_module_args(args), pytest.raises(SystemExit):
            main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def vpc():
    """A VPC in moto's in-process mock (eu-west-1): (EC2 client, VPC ID)."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="eu-west-1")
        yield ec2, ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
