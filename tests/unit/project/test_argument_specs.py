"""Every role input that is a port, count, size, duration, percentage or enum carries a type
and either choices or a preflight check that names it (issue: typed and ranged inputs)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(path.parents[1] for path in ROOT.glob("roles/*/meta/argument_specs.yml"))
# Names that say what kind of value the option holds.
RANGED = re.compile(
    r"_(port|ports|count|containers|replicas|size|memory|mb|gb|days|seconds|interval|timeout|ttl|percent|ratio"
    r"|wait|delay|retries|workers|connections|limit|burst|threshold|quorum|rise|fall)(_[a-z]+)?$"
    r"|_(timeout|max|min)_[a-z_]+$"
)


def options(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry_point in specs.values():
        yield from (entry_point.get("options") or {}).items()


def checks(role):
    """The text of the role's semantic checks: its preflight tasks and the vars they use."""
    return "".join(path.read_text() for path in [*role.glob("tasks/preflight*.yml"), *role.glob("vars/*.yml")])


def unchecked(role):
    text = checks(role)
    for name, spec in options(role):
        if not (RANGED.search(name) or spec.get("type") in ("int", "float")):
            continue
        if "type" not in spec:
            yield f"{name} (no type)"
        elif not spec.get("choices") and not re.search(rf"\b{name}\b", text):
            yield f"{name} (no choices and no preflight check)"


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_every_ranged_input_has_a_type_and_a_range_choices_or_a_format(role):
    assert list(unchecked(role)) == []


def test_the_rule_sees_the_inputs_it_is_about():
    names = {name for role in ROLES for name, _spec in options(role)}
    expected = {"redis_port", "lb_timeout_client", "waf_client_max_body_size", "api_cpus", "backup_randomized_delay"}
    assert expected <= names
    assert len(ROLES) > 20
