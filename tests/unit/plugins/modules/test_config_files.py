import json
import os
import stat

import pytest
from ansible_collections.onlywave.infra.plugins.modules import config_files as mod


class Result:
    """A module run's result, and whether it failed."""

    def __init__(self, result):
        self.result, self.failed = result, bool(result.get("failed"))


@pytest.fixture
def run(run_module):
    def run_files(files, check_mode=False, directories=()):
        args = {"files": files, "directories": list(directories)}
        return Result(run_module(mod.main, args, check_mode=check_mode))

    return run_files


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_new_files_with_their_mode_then_changes_nothing(run, tmp_path):
    files = [
        {"dest": str(tmp_path / "a.conf"), "content": "a = 1\n", "mode": "0640"},
        {"dest": str(tmp_path / "b.conf"), "content": "b\n"},
    ]
    first = run(files)
    assert not first.failed and first.result["changed"]
    assert (tmp_path / "a.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "a.conf") == 0o640
    assert mode_of(tmp_path / "b.conf") == 0o644
    second = run(files)
    assert not second.result["changed"]
    assert [f["changed"] for f in second.result["files"]] == [False, False]
    assert second.result["diff"] == []


def test_only_the_file_that_differs_changes(run, tmp_path):
    (tmp_path / "a.conf").write_text("old\n")
    (tmp_path / "b.conf").write_text("same\n")
    os.chmod(tmp_path / "b.conf", 0o644)
    result = run(
        [
            {"dest": str(tmp_path / "a.conf"), "content": "new\n"},
            {"dest": str(tmp_path / "b.conf"), "content": "same\n", "mode": "0644"},
        ],
    ).result
    assert [f["changed"] for f in result["files"]] == [True, False]
    assert (tmp_path / "a.conf").read_text() == "new\n"
    assert result["diff"][0]["before"] == "old\n" and result["diff"][0]["after"] == "new\n"


def test_a_mode_change_alone_is_a_change_and_keeps_the_content(run, tmp_path):
    (tmp_path / "a.conf").write_text("x\n")
    os.chmod(tmp_path / "a.conf", 0o644)
    result = run([{"dest": str(tmp_path / "a.conf"), "content": "x\n", "mode": "0600"}]).result
    assert result["changed"]
    assert mode_of(tmp_path / "a.conf") == 0o600
    assert (tmp_path / "a.conf").read_text() == "x\n"


def test_an_existing_file_keeps_its_mode_when_none_is_given(run, tmp_path):
    (tmp_path / "a.conf").write_text("old\n")
    os.chmod(tmp_path / "a.conf", 0o600)
    run([{"dest": str(tmp_path / "a.conf"), "content": "new\n"}])
    assert mode_of(tmp_path / "a.conf") == 0o600


def test_check_mode_reports_and_writes_nothing(run, tmp_path):
    (tmp_path / "a.conf").write_text("old\n")
    result = run(
        [
            {"dest": str(tmp_path / "a.conf"), "content": "new\n"},
            {"dest": str(tmp_path / "missing" / "b.conf"), "content": "b\n"},
        ],
        check_mode=True,
    ).result
    assert [f["changed"] for f in result["files"]] == [True, True]
    assert (tmp_path / "a.conf").read_text() == "old\n"
    assert not (tmp_path / "missing").exists()


def test_a_secret_file_shows_no_content_anywhere(run, tmp_path):
    secret = "masterauth s3cret-value\n"
    result = run([{"dest": str(tmp_path / "auth.conf"), "content": secret, "mode": "0600", "diff": False}])
    assert result.result["changed"]
    assert result.result["diff"] == []
    assert "s3cret-value" not in json.dumps(result.result)
    assert (tmp_path / "auth.conf").read_text() == secret


def test_contents_are_not_returned_in_the_invocation(run, tmp_path):
    result = run([{"dest": str(tmp_path / "a.conf"), "content": "visible only in the diff\n"}]).result
    assert "content" not in result["invocation"]["module_args"]["files"][0]


def test_validate_refuses_bad_content_and_keeps_the_old_file(run, tmp_path):
    (tmp_path / "a.conf").write_text("good\n")
    result = run([{"dest": str(tmp_path / "a.conf"), "content": "bad\n", "validate": "grep -q good %s"}])
    assert result.failed
    assert "a.conf: validate refused" in result.result["msg"]
    assert (tmp_path / "a.conf").read_text() == "good\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.conf"]


def test_validate_accepts_good_content(run, tmp_path):
    result = run([{"dest": str(tmp_path / "a.conf"), "content": "good\n", "validate": "grep -q good %s"}])
    assert not result.failed and result.result["changed"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"dest": "relative.conf", "content": "x"}, "dest must be an absolute path"),
        ({"dest": "/tmp/x.conf", "content": "x", "mode": "rw-r--r--"}, "mode must be octal"),
        ({"dest": "/tmp/x.conf", "content": "x", "mode": "0999"}, "mode must be octal"),
        ({"dest": "/tmp/x.conf", "content": "x", "validate": "visudo -c"}, "validate must contain %s"),
        ({"dest": "/tmp/x.conf", "content": "x", "owner": "no-such-user-here"}, "no user 'no-such-user-here'"),
        ({"dest": "/tmp/x.conf", "content": "x", "group": "no-such-group-here"}, "no group 'no-such-group-here'"),
    ],
)
def test_bad_options_fail_before_any_file_is_written(run, tmp_path, spec, message):
    good = {"dest": str(tmp_path / "first.conf"), "content": "x\n"}
    result = run([good, spec])
    assert result.failed
    assert message in result.result["msg"]
    assert not (tmp_path / "first.conf").exists()


def test_the_same_file_twice_is_refused(run, tmp_path):
    dest = str(tmp_path / "a.conf")
    result = run([{"dest": dest, "content": "1"}, {"dest": dest, "content": "2"}])
    assert result.failed and "listed twice" in result.result["msg"]


def test_a_missing_directory_fails_naming_the_file(run, tmp_path):
    result = run([{"dest": str(tmp_path / "none" / "a.conf"), "content": "x"}])
    assert result.failed and "does not exist" in result.result["msg"]


def test_a_directory_and_its_file_in_one_run_then_nothing_changes(run, tmp_path):
    private = tmp_path / "etc" / "api"
    directories = [{"path": str(private), "mode": "0700"}]
    files = [{"dest": str(private / "api.env"), "content": "A=1\n", "mode": "0600", "diff": False}]
    first = run(files, directories=directories).result
    assert first["changed"] and first["directories"] == [{"path": str(private), "changed": True}]
    assert mode_of(private) == 0o700 and mode_of(tmp_path / "etc") == 0o755
    assert (private / "api.env").read_text() == "A=1\n"
    second = run(files, directories=directories).result
    assert not second["changed"] and second["diff"] == []


def test_an_existing_directory_gets_its_mode_and_keeps_its_files(run, tmp_path):
    (tmp_path / "d").mkdir(mode=0o755)
    (tmp_path / "d" / "kept").write_text("x")
    result = run([], directories=[{"path": str(tmp_path / "d"), "mode": "0750"}]).result
    assert result["changed"] and mode_of(tmp_path / "d") == 0o750
    assert (tmp_path / "d" / "kept").read_text() == "x"
    assert "mode 0755" in result["diff"][0]["before"] and "mode 0750" in result["diff"][0]["after"]


def test_a_directory_without_a_mode_keeps_its_own(run, tmp_path):
    (tmp_path / "d").mkdir()
    os.chmod(tmp_path / "d", 0o711)
    result = run([], directories=[{"path": str(tmp_path / "d")}]).result
    assert not result["changed"] and mode_of(tmp_path / "d") == 0o711


def test_check_mode_makes_no_directory_and_reports_it_and_its_file(run, tmp_path):
    result = run(
        [{"dest": str(tmp_path / "new" / "a.conf"), "content": "a\n"}],
        check_mode=True,
        directories=[{"path": str(tmp_path / "new"), "mode": "0755"}],
    ).result
    assert result["changed"]
    assert [d["changed"] for d in result["directories"]] == [True]
    assert [f["changed"] for f in result["files"]] == [True]
    assert not (tmp_path / "new").exists()


def test_a_file_where_a_directory_is_wanted_fails(run, tmp_path):
    (tmp_path / "taken").write_text("x")
    result = run([], directories=[{"path": str(tmp_path / "taken")}])
    assert result.failed and "is not a directory" in result.result["msg"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "relative"}, "path must be an absolute path"),
        ({"path": "/tmp/d", "mode": "755x"}, "mode must be octal"),
        ({"path": "/tmp/d", "owner": "no-such-user-here"}, "no user 'no-such-user-here'"),
    ],
)
def test_bad_directory_options_fail_before_anything_is_made(run, tmp_path, spec, message):
    good = {"path": str(tmp_path / "first")}
    result = run([{"dest": str(tmp_path / "a.conf"), "content": "x"}], directories=[good, spec])
    assert result.failed and message in result.result["msg"]
    assert not (tmp_path / "first").exists() and not (tmp_path / "a.conf").exists()


def test_the_same_directory_twice_is_refused(run, tmp_path):
    result = run([], directories=[{"path": str(tmp_path / "d")}, {"path": str(tmp_path / "d") + "/"}])
    assert result.failed and "listed twice" in result.result["msg"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root (make test runs as root)")
def test_a_numeric_owner_need_not_exist_on_the_host(run, tmp_path):
    # A container's user (Logstash's 1000, say) has no account on the host that writes its files.
    directory = {"path": str(tmp_path / "data"), "owner": "54321", "group": "54321", "mode": "0750"}
    files = [{"dest": str(tmp_path / "data" / "a.conf"), "content": "a\n", "owner": "54321", "group": "54321"}]
    first = run(files, directories=[directory])
    assert not first.failed and first.result["changed"]
    for path in (tmp_path / "data", tmp_path / "data" / "a.conf"):
        assert (os.stat(path).st_uid, os.stat(path).st_gid) == (54321, 54321)
    assert not run(files, directories=[directory]).result["changed"]


FAKE_SYSTEMCTL = r"""#!/usr/bin/env python3
# A systemctl stand-in: units' states in units.json beside it, every call logged in calls.log.
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
units = json.load(open(os.path.join(here, "units.json")))
args = [a for a in sys.argv[1:] if a != "--"]
open(os.path.join(here, "calls.log"), "a").write(" ".join(args) + "\n")
if args[0] == "show":
    unit = units.get(args[-1], {"LoadState": "not-found", "UnitFileState": "", "ActiveState": "inactive"})
    print("\n".join(f"{key}={value}" for key, value in unit.items()))
elif args[0] in ("enable", "start"):  # reload and restart change no state
    units[args[1]]["UnitFileState" if args[0] == "enable" else "ActiveState"] = (
        "enabled" if args[0] == "enable" else "active")
    json.dump(units, open(os.path.join(here, "units.json"), "w"))
"""


@pytest.fixture
def systemctl(tmp_path, monkeypatch):
    """A fake systemctl first on PATH; returns (set the units' states, read the calls made)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(FAKE_SYSTEMCTL)
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    def set_units(units):
        (bin_dir / "units.json").write_text(json.dumps(units))

    def calls():
        log = bin_dir / "calls.log"
        made = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return [call for call in made if not call.startswith("show")]

    return set_units, calls


def stopped(name):
    return {name: {"LoadState": "loaded", "UnitFileState": "disabled", "ActiveState": "inactive"}}


def run_services(run_module, services, files, check_mode=False):
    args = {"files": files, "services": services}
    return run_module(mod.main, args, check_mode=check_mode)


def test_a_service_is_enabled_and_started_once_then_left_alone(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(stopped("haproxy"))
    files = [{"dest": str(tmp_path / "haproxy.cfg"), "content": "x\n"}]
    first = run_services(run_module, [{"name": "haproxy"}], files)
    assert first["changed"]
    assert first["services"] == [{"name": "haproxy", "changed": True, "systemctl": ["enable", "start"]}]
    assert calls() == ["enable haproxy", "start haproxy"]
    again = run_services(run_module, [{"name": "haproxy"}], files)
    assert not again["changed"] and again["services"] == [{"name": "haproxy", "changed": False, "systemctl": []}]
    assert calls() == []


def test_check_mode_reports_the_service_and_starts_nothing(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(stopped("haproxy"))
    result = run_services(run_module, [{"name": "haproxy"}], [], check_mode=True)
    assert result["changed"] and result["services"][0]["changed"]
    assert "disabled, inactive" in result["diff"][0]["before"] and "enabled, active" in result["diff"][0]["after"]
    assert calls() == []


def test_start_false_only_enables(run_module, systemctl):
    set_units, calls = systemctl
    set_units(stopped("systemd-timesyncd"))
    result = run_services(run_module, [{"name": "systemd-timesyncd", "start": False}], [])
    assert result["changed"] and calls() == ["enable systemd-timesyncd"]


def test_a_missing_unit_fails_naming_it(run_module, systemctl):
    set_units = systemctl[0]
    set_units({})
    result = run_services(run_module, [{"name": "no-such-unit"}], [])
    assert result["failed"] and "no-such-unit: the unit is not-found" in result["msg"]


def test_a_written_unit_file_reloads_systemd_before_the_start(run_module, systemctl, tmp_path, monkeypatch):
    set_units, calls = systemctl
    set_units(stopped("job.timer"))
    monkeypatch.setattr(mod, "UNITS_DIR", f"{tmp_path}/")
    files = [{"dest": str(tmp_path / "job.timer"), "content": "t\n"}]
    result = run_services(run_module, [{"name": "job.timer"}], files)
    assert result["changed"] and calls() == ["daemon-reload", "enable job.timer", "start job.timer"]
    run_services(run_module, [{"name": "job.timer"}], files)
    assert calls() == []


def test_check_mode_counts_a_unit_this_call_would_write(run_module, systemctl, tmp_path, monkeypatch):
    set_units, calls = systemctl
    set_units({})
    monkeypatch.setattr(mod, "UNITS_DIR", f"{tmp_path}/")
    files = [{"dest": str(tmp_path / "job.timer"), "content": "t\n"}]
    result = run_services(run_module, [{"name": "job.timer"}], files, check_mode=True)
    assert result["changed"] and not result.get("failed") and calls() == []
    assert not (tmp_path / "job.timer").exists()


def test_the_same_service_twice_is_refused_before_anything_is_written(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(stopped("haproxy"))
    files = [{"dest": str(tmp_path / "a.conf"), "content": "bind *:80\n"}]
    result = run_services(run_module, [{"name": "haproxy"}, {"name": "haproxy"}], files)
    assert result["failed"] and "haproxy is listed twice" in result["msg"]
    assert not (tmp_path / "a.conf").exists() and calls() == []


@pytest.mark.parametrize("name", ["", "--now"])
def test_an_empty_name_or_an_option_as_a_name_is_refused(run_module, systemctl, name):
    set_units, calls = systemctl
    set_units(stopped("haproxy"))
    result = run_services(run_module, [{"name": name}], [])
    assert result["failed"] and "a name must not be empty or start with '-'" in result["msg"]
    assert calls() == []


def running(name):
    return {name: {"LoadState": "loaded", "UnitFileState": "enabled", "ActiveState": "active"}}


def test_a_running_service_is_reloaded_when_a_file_it_watches_changes_and_only_then(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units({**running("ssh"), **running("nftables")})
    sshd, rules = str(tmp_path / "sshd.conf"), str(tmp_path / "nftables.conf")
    services = [
        {"name": "ssh", "watch": [sshd], "on_change": "reloaded"},
        {"name": "nftables", "watch": [rules], "on_change": "restarted"},
    ]
    first = run_services(run_module, services, [{"dest": sshd, "content": "a\n"}, {"dest": rules, "content": "r\n"}])
    assert first["changed"] and calls() == ["reload ssh", "restart nftables"]
    again = run_services(run_module, services, [{"dest": sshd, "content": "b\n"}, {"dest": rules, "content": "r\n"}])
    assert [service["systemctl"] for service in again["services"]] == [["reload"], []]
    assert calls() == ["reload ssh"]
    run_services(run_module, services, [{"dest": sshd, "content": "b\n"}, {"dest": rules, "content": "r\n"}])
    assert calls() == []


def test_a_service_this_call_starts_is_not_restarted_too(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(stopped("haproxy"))
    conf = str(tmp_path / "haproxy.cfg")
    run_services(run_module, [{"name": "haproxy", "watch": [conf]}], [{"dest": conf, "content": "x\n"}])
    assert calls() == ["enable haproxy", "start haproxy"]


def test_a_stopped_service_that_is_not_to_be_started_stays_stopped(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(stopped("systemd-timesyncd"))
    conf = str(tmp_path / "timesyncd.conf")
    services = [{"name": "systemd-timesyncd", "start": False, "watch": [conf]}]
    run_services(run_module, services, [{"dest": conf, "content": "[Time]\n"}])
    assert calls() == ["enable systemd-timesyncd"]


def test_check_mode_reports_the_reload_and_runs_nothing(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(running("ssh"))
    sshd = str(tmp_path / "sshd.conf")
    service = {"name": "ssh", "watch": [sshd], "on_change": "reloaded"}
    result = run_module(mod.main, {"files": [{"dest": sshd, "content": "a\n"}], "services": [service]}, check_mode=True)
    assert result["changed"] and result["services"] == [{"name": "ssh", "changed": True, "systemctl": ["reload"]}]
    assert f"(reloaded: {sshd} changed)" in result["diff"][-1]["after"]
    assert calls() == [] and not os.path.exists(sshd)


def test_a_watched_path_outside_the_call_is_refused_before_anything_is_written(run_module, systemctl, tmp_path):
    set_units, calls = systemctl
    set_units(running("ssh"))
    conf = str(tmp_path / "a.conf")
    services = [{"name": "ssh", "watch": ["/etc/ssh/sshd_config"]}]
    result = run_services(run_module, services, [{"dest": conf, "content": "x\n"}])
    assert (
        result["failed"] and "ssh: watch: /etc/ssh/sshd_config is not a file or directory of this call" in result["msg"]
    )
    assert not os.path.exists(conf) and calls() == []
