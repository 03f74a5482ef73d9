from unittest.mock import MagicMock

import boto3
import pytest
from ansible_collections.onlywave.infra.plugins.modules import iam_oidc_provider as mod
from moto import mock_aws

URL = "https://token.actions.githubusercontent.com"
PRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
ARGS = {"url": URL, "client_ids": ["sts.amazonaws.com"], "thumbprints": [PRINT], "tags": {"Project": "onlywave"}}


@pytest.fixture
def iam():
    with mock_aws():
        yield boto3.client("iam", region_name="eu-west-1")


def test_creates_once_then_changes_nothing(run_module, iam):
    first = run_module(mod.main, ARGS)
    assert first["changed"] is True
    assert first["arn"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    again = run_module(mod.main, ARGS)
    assert again["changed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1


def test_check_mode_creates_nothing(run_module, iam):
    result = run_module(mod.main, ARGS, check_mode=True)
    assert result["changed"] is True
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    # The ARN it would get: the aws_iam role builds its other ARNs from it, in check mode too.
    assert result["arn"] == run_module(mod.main, ARGS)["arn"]


def test_tags_follow_the_arguments(run_module, iam):
    run_module(mod.main, ARGS)
    result = run_module(mod.main, dict(ARGS, tags={"Project": "onlywave", "Environment": "prod"}))
    assert result["changed"] is True
    arn = result["arn"]
    tags = {t["Key"]: t["Value"] for t in iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Tags"]}
    assert tags == {"Project": "onlywave", "Environment": "prod"}


def test_absent_deletes_then_changes_nothing(run_module, iam):
    run_module(mod.main, ARGS)
    assert run_module(mod.main, {"url": URL, "state": "absent"})["changed"] is True
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert run_module(mod.main, {"url": URL, "state": "absent"})["changed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (dict(ARGS, url="http://token.example"), "url must start with https://"),
        (dict(ARGS, thumbprints=["not-a-thumbprint"]), "thumbprints must be 40 hexadecimal"),
        (dict(ARGS, client_ids=[]), "client_ids must name at least one audience"),
    ],
)
def test_bad_arguments_fail_clearly(run_module, iam, args, message):
    result = run_module(mod.main, args)
    assert result["failed"] and message in result["msg"]


def test_audiences_and_thumbprints_are_brought_to_the_arguments():
    # moto has no AddClientIDToOpenIDConnectProvider: a mock client records the calls.
    module = MagicMock(check_mode=False)
    module.params = dict(ARGS, client_ids=["sts.amazonaws.com", "other"], thumbprints=["A" * 40], purge_tags=True)
    iam = MagicMock()
    current = {"arn": "arn:p", "client_ids": ["old", "sts.amazonaws.com"], "thumbprints": [PRINT], "tags": {}}
    changed, after = mod.ensure_present(module, iam, current)
    assert changed is True
    iam.add_client_id_to_open_id_connect_provider.assert_called_once_with(
        OpenIDConnectProviderArn="arn:p", ClientID="other", aws_retry=True
    )
    iam.remove_client_id_from_open_id_connect_provider.assert_called_once_with(
        OpenIDConnectProviderArn="arn:p", ClientID="old", aws_retry=True
    )
    iam.update_open_id_connect_provider_thumbprint.assert_called_once_with(
        OpenIDConnectProviderArn="arn:p", ThumbprintList=["a" * 40], aws_retry=True
    )
    assert after["client_ids"] == ["other", "sts.amazonaws.com"]


def test_provider_host_drops_the_scheme_and_trailing_slash():
    assert mod.provider_host("https://token.actions.githubusercontent.com/") == "token.actions.githubusercontent.com"
