#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: wafv2_web_acl_association
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Associate a regional WAFv2 web ACL with a resource such as an ALB
description:
  - Makes sure a resource (an Application Load Balancer, an API Gateway stage, ...) is protected
    by the given web ACL, or by none.
  - Reads the current association with GetWebACLForResource and changes it with AssociateWebACL
    and DisassociateWebACL. community.aws.wafv2_resources needs ListResourcesForWebACL instead,
    which some AWS-compatible endpoints (moto among them) do not implement.
  - A resource has at most one web ACL; associating another one replaces it (disassociate, then associate).
options:
  resource_arn:
    description:
      - ARN of the protected resource.
      - This or O(load_balancer_name) is required.
    type: str
  load_balancer_name:
    description:
      - Name of the Application Load Balancer to protect, instead of O(resource_arn); the module finds
        its ARN (DescribeLoadBalancers), and fails if there is none of that name.
      - Saves a playbook the separate lookup of a load balancer that another play or host created.
    type: str
  web_acl_arn:
    description:
      - ARN of the web ACL. This or O(web_acl_name) is required when O(state=present).
      - With O(state=absent), the association is removed only if it is with this web ACL; when
        neither is given, any association is removed.
    type: str
  web_acl_name:
    description:
      - Name of the regional web ACL, instead of O(web_acl_arn); the module finds its ARN
        (ListWebACLs), and fails if there is none of that name.
      - Lets a playbook associate a web ACL that another play or host created, without passing its ARN along.
    type: str
  state:
    description: Whether the resource is associated with the web ACL.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - onlywave.infra.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  diff_mode:
    support: full
    description: Shows the web ACL associated with the resource, before and after.
notes:
  - Calls are retried with backoff on throttling, transient errors and WAFUnavailableEntityException
    (a load balancer that was just created).
"""

EXAMPLES = r"""
- name: Protect the ALB with the web ACL
  onlywave.infra.wafv2_web_acl_association:
    resource_arn: "{{ alb.load_balancer_arn }}"
    web_acl_arn: "{{ web_acl.arn }}"

- name: Protect the ALB with the web ACL of that name
  onlywave.infra.wafv2_web_acl_association:
    resource_arn: "{{ alb.load_balancer_arn }}"
    web_acl_name: prod-edge

- name: Protect the ALB of that name with the web ACL of that name
  onlywave.infra.wafv2_web_acl_association:
    load_balancer_name: onlywave-prod
    web_acl_name: onlywave-prod

- name: Remove any web ACL from the ALB
  onlywave.infra.wafv2_web_acl_association:
    resource_arn: "{{ alb.load_balancer_arn }}"
    state: absent
"""

RETURN = r"""
resource_arn:
  description: ARN of the protected resource (the load balancer's, when found by O(load_balancer_name)).
  returned: always
  type: str
web_acl_arn:
  description: ARN of the web ACL associated with the resource after the change; empty when none.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.onlywave.infra.plugins.module_utils._aws import retrying_client

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing library


def current_web_acl(waf, resource_arn):
    found = waf.get_web_acl_for_resource(ResourceArn=resource_arn, aws_retry=True)
    return (found.get("WebACL") or {}).get("ARN", "")


def web_acl_named(waf, name):
    """ARN of the regional web ACL of that name, or None."""
    request = {"Scope": "REGIONAL", "Limit": 100}
    while True:
        page = waf.list_web_acls(aws_retry=True, **request)
        for acl in page.get("WebACLs", []):
            if acl["Name"] == name:
                return acl["ARN"]
        if not page.get("NextMarker"):
            return None
        request["NextMarker"] = page["NextMarker"]


def load_balancer_arn(module, name):
    """ARN of the load balancer of that name; fails the module if there is none."""
    elb = retrying_client(module, "elbv2")
    try:
        found = elb.describe_load_balancers(Names=[name], aws_retry=True)["LoadBalancers"]
    except is_boto3_error_code("LoadBalancerNotFound"):
        found = []
    if not found:
        module.fail_json(msg=f"There is no load balancer named {name}")
    return found[0]["LoadBalancerArn"]


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resource_arn=dict(type="str"),
            load_balancer_name=dict(type="str"),
            web_acl_arn=dict(type="str"),
            web_acl_name=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("web_acl_arn", "web_acl_name"), ("resource_arn", "load_balancer_name")],
        required_one_of=[("resource_arn", "load_balancer_name")],
        required_if=[("state", "present", ["web_acl_arn", "web_acl_name"], True)],
        supports_check_mode=True,
    )
    resource_arn, wanted, state = (module.params[k] for k in ("resource_arn", "web_acl_arn", "state"))
    # A resource that was just created can be briefly unknown to WAF.
    waf = retrying_client(module, "wafv2", extra_error_codes=["WAFUnavailableEntityException"])
    try:
        if module.params["load_balancer_name"]:
            resource_arn = load_balancer_arn(module, module.params["load_balancer_name"])
        if module.params["web_acl_name"]:
            wanted = web_acl_named(waf, module.params["web_acl_name"])
            if wanted is None:
                module.fail_json(msg=f"There is no regional web ACL named {module.params['web_acl_name']}")
        before = current_web_acl(waf, resource_arn)
        if state == "present":
            after = wanted
        else:
            after = "" if before and (not wanted or before == wanted) else before
        changed = before != after
        if changed and not module.check_mode:
            # Disassociate first when switching, rather than rely on AssociateWebACL replacing.
            if before:
                waf.disassociate_web_acl(ResourceArn=resource_arn, aws_retry=True)
            if after:
                waf.associate_web_acl(WebACLArn=after, ResourceArn=resource_arn, aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(
            e, msg=f"Could not manage the web ACL of {resource_arn or module.params['load_balancer_name']}"
        )
    module.exit_json(
        changed=changed,
        resource_arn=resource_arn,
        web_acl_arn=after,
        diff={"before": {"web_acl_arn": before}, "after": {"web_acl_arn": after}},
    )


if __name__ == "__main__":
    main()
