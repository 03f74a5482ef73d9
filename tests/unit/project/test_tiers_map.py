"""playbooks/vars/tiers.yml is the one map of which roles run on which hosts: preflight reads
it, and the tier playbooks are static plays held equal to it here (each entry once, in the map's
order, with its title, hosts, roles and condition), so that a host is checked for exactly the
roles it gets. Static plays rather than an `include_role` loop over the map (tried before): with
them `--list-tasks` shows every role's tasks, and a no-op site.yml on dev is no slower."""

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


def site_plays():
    """The plays of the tier playbooks, in the order site.yml runs them."""
    site = yaml.safe_load((ROOT / "site.yml").read_text())
    not_tiers = {"playbooks/preflight.yml", "playbooks/aws.yml", "playbooks/hosts_ready.yml"}
    tier_playbooks = [entry["ansible.builtin.import_playbook"] for entry in site]
    return [
        play
        for playbook in tier_playbooks
        if playbook not in not_tiers
        for play in yaml.safe_load((ROOT / playbook).read_text())
    ]


def expected_play(tier):
    """The static play an entry of the map stands for (without its tags, which its playbook sets)."""
    play = {"name": tier["title"], "hosts": tier["hosts"], "gather_facts": False}
    if "strategy" in tier:
        play["strategy"] = tier["strategy"]
    if "requires" not in tier:
        return play | {"roles": [{"role": f"onlywave.infra.{role}"} for role in tier["roles"]]}
    var, unset = tier["requires"]["var"], tier["requires"]["unset"]
    unset = "true" if unset is True else repr(unset)
    return play | {
        "tasks": [
            {
                "name": f"Apply {role} where {var} holds",
                "ansible.builtin.include_role": {"name": f"onlywave.infra.{role}"},
                # The same test as preflight's, so a host gets the roles it was checked for.
                "when": f"{var} | default({unset}) is ansible.builtin.truthy(convert_bool=true)",
            }
            for role in tier["roles"]
        ]
    }


def test_site_applies_every_entry_once_in_the_maps_order():
    plays = site_plays()
    assert [play["name"] for play in plays] == [tier["title"] for tier in TIERS.values()]
    for play, tier in zip(plays, TIERS.values(), strict=True):
        assert {key: value for key, value in play.items() if key != "tags"} == expected_play(tier)
        assert play["tags"], play["name"]


def test_preflight_tests_requires_as_the_plays_do():
    preflight = (ROOT / "playbooks/preflight.yml").read_text()
    assert "is ansible.builtin.truthy(convert_bool=true)" in preflight


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
