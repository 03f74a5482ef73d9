"""AWX cannot run here: check that what playbooks/awx_configure.yml declares
(playbooks/vars/awx.yml) names things that exist, and that each survey
variable is one the playbook reads, with the type its argument spec gives."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
AWX = yaml.safe_load((ROOT / "playbooks/vars/awx.yml").read_text())
CONFIGURE = (ROOT / "playbooks/awx_configure.yml").read_text()
SURVEY_TYPES = {
    "int": {"integer"},
    "str": {"text", "password", "multiplechoice"},
    "bool": {"multiplechoice"},
    "raw": {"integer", "text"},
}
TEMPLATES = AWX["awx_job_templates"]


def argument_spec_types():
    """Every role option's type, from the roles' meta/argument_specs.yml."""
    types = {}
    for spec_file in ROOT.glob("roles/*/meta/argument_specs.yml"):
        for entry in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            for name, option in entry.get("options", {}).items():
                types[name] = option.get("type", "str")
    return types


def playbook_text(playbook):
    """The playbook, and the tasks, vars and defaults of the roles it includes by name
    (onlywave.infra.<role>)."""
    texts = [(ROOT / playbook).read_text()]
    for role in set(re.findall(r"onlywave\.infra\.([a-z_]+)", texts[0])):
        for part in ("tasks", "vars", "defaults"):
            texts += [p.read_text() for p in (ROOT / "roles" / role / part).glob("*.yml")]
    return "\n".join(texts)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t["name"] for t in TEMPLATES])
def test_each_job_template_runs_a_playbook_of_the_project(template):
    assert (ROOT / template["playbook"]).is_file()


@pytest.mark.parametrize("env", AWX["awx_environments"])
def test_each_environment_has_the_inventory_awx_sources(env):
    assert (ROOT / "inventories" / env / "hosts.yml").is_file()
    assert (ROOT / "inventories" / env / "group_vars/all/vault.yml").is_file()


SURVEY = [(t["name"], t["playbook"], q) for t in TEMPLATES for q in t["survey"]]


@pytest.mark.parametrize(("template", "playbook", "question"), SURVEY, ids=[entry[2]["variable"] for entry in SURVEY])
def test_each_survey_variable_is_read_by_its_playbook_with_a_matching_type(template, playbook, question):
    assert set(question) >= {"variable", "type", "required", "question_name"}, template
    assert question["variable"] in playbook_text(playbook), f"{playbook} never reads {question['variable']}"
    spec_type = argument_spec_types().get(question["variable"])
    if spec_type:
        assert question["type"] in SURVEY_TYPES[spec_type], (question["variable"], spec_type)
    if question["type"] == "integer":
        assert question["min"] <= question.get("default", question["min"]) <= question["max"]
    if question["type"] == "multiplechoice":
        assert str(question.get("default", question["choices"][0])) in question["choices"]


def test_the_workflow_and_schedule_name_declared_templates():
    declared = {f"onlywave-{env}-{t['name']}" for env in AWX["awx_environments"] for t in TEMPLATES}
    for name in ("onlywave-staging-deploy", "onlywave-prod-deploy"):
        assert name in declared and name in CONFIGURE
    assert "type: workflow_approval" in CONFIGURE
    assert {f"onlywave-{env}-backup" for env in AWX["awx_environments"]} <= declared
    assert AWX["awx_backup_schedule"].startswith("DTSTART:") and "FREQ=DAILY" in AWX["awx_backup_schedule"]


def test_the_execution_environment_carries_the_collections_and_python_dependencies():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    pins = (ROOT / "requirements.txt").read_text()
    assert ee["version"] == 3
    assert ee["dependencies"]["galaxy"] == "requirements.yml" and (ROOT / "bindep.txt").is_file()
    assert ee["dependencies"]["ansible_core"]["package_pip"] in pins
    for requirement in ee["dependencies"]["python"]:
        assert requirement in pins, requirement
    assert AWX["awx_execution_environment"] in CONFIGURE or "awx_execution_environment" in CONFIGURE
