"""The local AWS emulator: moto's server, with two gaps that break our roles filled in.

Test harness only: nothing in the collection depends on this file.

- Real AWS answers DescribeLoadBalancerAttributes with every attribute of an
  Application Load Balancer; moto leaves out those never set, and
  amazon.aws.elb_application_lb fails on the missing keys. Here a new load
  balancer starts with AWS's documented defaults.
- community.aws.acm_certificate expects GetCertificate to return an imported
  certificate's chain as it was given (the certificate itself when none was);
  moto appends its own root CA, so every import looked changed. Here the chain
  is returned as community.aws expects.
"""

from moto.acm import models as acm_models
from moto.elbv2 import models
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

if __name__ == "__main__":
    main()
