"""playbooks/vars/tiers.yml is the one map of which roles run on which hosts: the tier
playbooks apply each entry once, in the map's order, and every role the site applies to hosts
is in it (so that preflight, which reads the same map, checks it)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
TIERS = yaml.safe_load((ROOT / "playbooks/vars/tiers.yml").read_text())["onlywave_tiers"]
# Applied elsewhere or by other roles: the AWS layer (playbooks/aws.yml on the controller), the
# deploy (playbooks/deploy.yml, which checks its own inputs) and the internal roles that other
# roles include.
NOT_IN_THE_MAP = {"aws_alb", "aws_ec2", "aws_ecr", "aws_iam", "aws_s3", "aws_vpc", "aws_waf", "deploy"} | {
    "host_plumbing",
    "pki",
    "container_image",
}


def site_tiers():
    """The _tier of every import of playbooks/tier.yml, in the order site.yml runs them."""
    site = yaml.safe_load((ROOT / "site.yml").read_text())
    order = []
    for entry in site:
        playbook = ROOT / entry["ansible.builtin.import_playbook"]
        for play in yaml.safe_load(playbook.read_text()):
            if play.get("ansible.builtin.import_playbook") == "tier.yml":
                order.append(play["vars"]["_tier"])
    return order


def test_site_applies_every_entry_once_in_the_maps_order():
    assert site_tiers() == list(TIERS)


def test_every_entry_names_its_title_hosts_and_existing_roles_with_checks():
    for name, tier in TIERS.items():
        assert tier["title"] and tier["hosts"] and tier["roles"], name
        for role in tier["roles"]:
            assert (ROOT / "roles" / role / "tasks/preflight.yml").is_file(), f"{name}: {role}"
        if "requires" in tier:
            assert set(tier["requires"]) == {"var", "unset"}, name


def test_every_role_for_hosts_is_in_the_map():
    roles = {path.name for path in (ROOT / "roles").iterdir() if path.is_dir()}
    mapped = {role for tier in TIERS.values() for role in tier["roles"]}
    assert roles - NOT_IN_THE_MAP == mapped
