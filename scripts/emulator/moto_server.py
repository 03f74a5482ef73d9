"""The local AWS emulator: moto's server, with the gaps that break our roles filled in.

Test harness only: nothing in the collection depends on this file.

- Real AWS answers DescribeLoadBalancerAttributes with every attribute of an
  Application Load Balancer; moto leaves out those never set, and
  amazon.aws.elb_application_lb fails on the missing keys. Here a new load
  balancer starts with AWS's documented defaults.
- community.aws.acm_certificate expects GetCertificate to return an imported
  certificate's chain as it was given (the certificate itself when none was);
  moto appends its own root CA, so every import looked changed. Here the chain
  is returned as community.aws expects.
- The rehearsal (docs/rehearsal.md) seeds the certificate that an environment's
  inventory names by ARN, as an operator issues it before the first run. Real
  ACM re-imports only at an ARN it knows; with ONLYWAVE_EMULATOR_ACM_AT_ARN=1
  the emulator also creates one at an ARN it does not know yet.
- AWS's endpoints are HTTPS, so a bucket policy that denies requests without
  aws:SecureTransport (our TLS-only buckets) lets AWS's clients through. moto
  evaluates no Bool condition, and a Deny statement whose condition does not
  hold still denies, so it refused every request to such a bucket. Here the
  Bool operator is evaluated, a Deny applies only when its conditions hold, and
  requests count as secure transport, as they are on AWS.
"""

import os

from moto.acm import models as acm_models
from moto.elbv2 import models
from moto.iam import access_control, policy_conditions
from moto.server import main

ALB_DEFAULT_ATTRIBUTES = {
    "access_logs.s3.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "client_keep_alive.seconds": "3600",
    "routing.http2.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "waf.fail_open.enabled": "false",
}

_moto_init = models.FakeLoadBalancer.__init__


def _init_with_aws_defaults(self, *args, **kwargs):
    _moto_init(self, *args, **kwargs)
    for key, value in ALB_DEFAULT_ATTRIBUTES.items():
        self.attrs.setdefault(key, value)


models.FakeLoadBalancer.__init__ = _init_with_aws_defaults

_moto_cert_init = acm_models.CertBundle.__init__


def _init_with_chain_as_given(self, *args, **kwargs):
    _moto_cert_init(self, *args, **kwargs)
    if self.type == "IMPORTED":
        self.chain = kwargs.get("chain") or self.cert


acm_models.CertBundle.__init__ = _init_with_chain_as_given

_moto_import_certificate = acm_models.AWSCertificateManagerBackend.import_certificate


def _import_at_a_new_arn(self, certificate, private_key, chain, arn, tags):
    if arn is not None and arn not in self._certificates and os.environ.get("ONLYWAVE_EMULATOR_ACM_AT_ARN") == "1":
        bundle = acm_models.CertBundle(
            self.account_id, certificate, private_key, chain=chain, region=self.region_name, arn=arn
        )
        self._certificates[arn] = bundle
    return _moto_import_certificate(self, certificate, private_key, chain, arn, tags)


acm_models.AWSCertificateManagerBackend.import_certificate = _import_at_a_new_arn

policy_conditions.CONDITION_OPERATIONS.setdefault(
    "Bool", lambda expected, actual: str(expected).lower() == str(actual).lower()
)
_moto_statement_permission = access_control.IAMPolicyStatement.is_action_permitted


def _deny_only_when_its_conditions_hold(self, action, resource="*", principal=None, incoming_condition_values=None):
    incoming = {"aws:SecureTransport": "true", **(incoming_condition_values or {})}
    statement = self._statement
    if statement.get("Effect") == "Deny" and statement.get("Condition") and not self._check_conditions(incoming):
        return access_control.PermissionResult.NEUTRAL
    return _moto_statement_permission(self, action, resource, principal, incoming)


access_control.IAMPolicyStatement.is_action_permitted = _deny_only_when_its_conditions_hold

if __name__ == "__main__":
    main()
