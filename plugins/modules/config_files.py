#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: config_files
short_description: Configuration files, their directories and the services that read them, in one module run
version_added: 0.3.0
author: OnlyWave platform team (@onlywave)
description:
  - Makes each listed file hold exactly the given content, owner, group and mode, in a single
    module run on the host. A no-op costs one remote call for the whole list, where
    M(ansible.builtin.copy) or M(ansible.builtin.template) cost several per file (a temporary
    directory, a stat, a file call and a clean-up). Render templates with the
    C(ansible.builtin.template) lookup, which reads the role's C(templates/).
  - A changed file is written to a temporary file in its own directory, given its owner, group
    and mode, checked by O(files[].validate) if set, then renamed over the old one. A reader sees
    the old file or the new one, never a partial one, and a secret file is never readable by
    others, not even for a moment.
  - Every option of every file and directory is checked before anything is written; the message
    names the file or directory.
  - Then each service of O(services) is enabled and started, after a C(systemctl daemon-reload)
    if a file or directory under C(/etc/systemd/system) changed. A role whose package is installed
    writes its settings and starts its service in one call, where M(ansible.builtin.systemd_service)
    cost a second one.
  - A running service whose O(services[].watch) files changed is restarted or reloaded in the same
    call, so that settings for several services cost one call where one task per service, each
    notifying its handler, cost one call each. It happens at once, not at the end of the play, and
    a run that fails later has still applied what it wrote.
  - Contents are never logged and never returned. A diff shows a file's old and new contents only
    where O(files[].diff) is true; secret-bearing files set it to false and show only that they
    changed.
options:
  directories:
    description:
      - Directories to make, or to give their owner, group and mode, before any file is written,
        so that a file and the directory it goes in cost one call.
      - A missing parent of a listed directory is made too, owned by the connecting user, with
        mode C(0755).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory's absolute path.
        type: path
        required: true
      owner:
        description:
          - The owning user, a name or a numeric ID (a container's user need not exist on the host).
          - The existing directory's, or the connecting user's, if unset.
        type: str
      group:
        description:
          - The owning group, a name or a numeric ID.
          - The existing directory's, or the user's group, if unset.
        type: str
      mode:
        description:
          - Octal permissions, for example C("0700").
          - An existing directory keeps its mode if unset; a new one gets C(0755).
        type: str
  files:
    description: The files, each written as a whole.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: The file's absolute path. Its directory must exist, or be listed in O(directories).
        type: path
        required: true
      content:
        description: The whole content.
        type: str
        required: true
      owner:
        description:
          - The owning user, a name or a numeric ID (a container's user need not exist on the host).
          - The existing file's, or the connecting user's, if unset.
        type: str
      group:
        description:
          - The owning group, a name or a numeric ID.
          - The existing file's, or the user's group, if unset.
        type: str
      mode:
        description:
          - Octal permissions, for example C("0640").
          - An existing file keeps its mode if unset; a new one gets C(0644).
        type: str
      validate:
        description:
          - A command that checks the new content before it replaces the file.
          - C(%s) is the temporary file's path.
        type: str
      diff:
        description: Show the old and new contents in diff mode. Set it to false for any file that holds a secret.
        type: bool
        default: true
  services:
    description:
      - systemd units to enable and start after the files are written. A change to the files they
        read is applied by O(services[].watch), or else by the caller, with a handler.
      - A unit that does not exist, or is masked, fails the call; in check mode a missing unit is
        reported as a change only when this call would write a file under C(/etc/systemd/system).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit, for example C(haproxy) or C(onlywave-backup.timer).
        type: str
        required: true
      start:
        description: Start it now too. False only enables it (a unit that a container skips).
        type: bool
        default: true
      watch:
        description:
          - Paths from O(files[].dest) or O(directories[].path) of this call that the service reads.
            When one of them changes, a running service is restarted or reloaded
            (O(services[].on_change)), unless this call has just started it, with the new settings.
          - A service that is not running (and has O(services[].start=false)) is left as it is.
        type: list
        elements: path
        default: []
      on_change:
        description: What a change to a watched path does to the running service.
        type: str
        choices: [restarted, reloaded]
        default: restarted
attributes:
  check_mode:
    support: full
    description:
      Reports which files, directories and services would change (a restart or reload included) and,
      in diff mode, how; changes nothing.
  diff_mode:
    support: full
    description:
      One diff per changed directory (its owner, group and mode), per changed file whose
      O(files[].diff) is true, and per service enabled, started, restarted or reloaded.
  idempotent:
    support: full
    description: A file or directory that already matches, and a service enabled and running, are left alone.
notes:
  - Runs as one module call, so with pipelining a no-op over any number of files and services is a
    single remote execution.
  - O(services) needs systemd; list a service only once its package is installed.
"""

EXAMPLES = r"""
- name: Write redis.conf and its unit's drop-in
  onlywave.infra.config_files:
    files:
      - dest: /etc/systemd/system/redis-server.service.d/onlywave.conf
        content: |
          [Service]
          ReadOnlyPaths=/etc/redis/redis.conf
        mode: "0644"
      - dest: /etc/redis/redis.conf
        content: "{{ lookup('ansible.builtin.template', 'redis.conf.j2') }}"
        owner: root
        group: redis
        mode: "0640"
        diff: false  # it holds password hashes
    services:
      - name: redis-server
  notify: Restart redis

- name: Write the containers' environment in a directory only root may read
  onlywave.infra.config_files:
    directories:
      - path: /etc/onlywave/api
        owner: root
        group: root
        mode: "0700"
    files:
      - dest: /etc/onlywave/api/api.env
        content: "DATABASE_URL={{ api_database_url }}\n"
        mode: "0600"
        diff: false

- name: Let the administrators use sudo (checked by visudo)
  onlywave.infra.config_files:
    files:
      - dest: /etc/sudoers.d/admins
        content: "%admins ALL=(ALL:ALL) NOPASSWD: ALL\n"
        mode: "0440"
        validate: /usr/sbin/visudo -cf %s

- name: Write sshd's and the firewall's settings; reload each service whose file changed
  onlywave.infra.config_files:
    files:
      - dest: /etc/ssh/sshd_config.d/50-hardening.conf
        content: "PermitRootLogin no\n"
        mode: "0644"
        validate: /usr/sbin/sshd -t -f %s
      - dest: /etc/nftables.conf
        content: "{{ lookup('ansible.builtin.template', 'nftables.conf.j2') }}"
        mode: "0644"
        validate: /usr/sbin/nft -c -f %s
    services:
      - {name: ssh, watch: [/etc/ssh/sshd_config.d/50-hardening.conf], on_change: reloaded}
      - {name: nftables, watch: [/etc/nftables.conf], on_change: reloaded}
"""

RETURN = r"""
directories:
  description: Each directory, in the order given, and whether it changed (or would, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The directory's path.
      type: str
    changed:
      description: Whether it was made, or its owner, group or mode changed.
      type: bool
  sample: [{path: /etc/onlywave/api, changed: false}]
files:
  description: Each file, in the order given, and whether it changed (or would, in check mode).
  returned: always
  type: list
  elements: dict
  contains:
    dest:
      description: The file's path.
      type: str
    changed:
      description: Whether its content, owner, group or mode changed.
      type: bool
  sample: [{dest: /etc/redis/redis.conf, changed: false}]
services:
  description:
    Each service, in the order given, whether it was enabled, started, restarted or reloaded (or would
    be, in check mode), and the systemctl commands that did it.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The unit.
      type: str
    changed:
      description: Whether it was enabled, started, restarted or reloaded.
      type: bool
    systemctl:
      description: The systemctl commands run (or that would run, in check mode), in order.
      type: list
      elements: str
  sample: [{name: ssh, changed: true, systemctl: [reload]}]
"""

import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.onlywave.infra.plugins.module_utils._lists import repeated

MODE = re.compile(r"^0?[0-7]{3,4}$")
UNITS_DIR = "/etc/systemd/system/"
# What `systemctl is-enabled` answers with exit code 0: the unit starts at boot, or needs no enabling.
ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}
ACTIVE = {"active", "activating", "reloading"}


def check_entry(option, key, spec):
    """The problems of one file's or directory's options, as messages naming it."""
    path = spec[key]
    problems = []
    if not os.path.isabs(path):
        problems.append(f"{option}: {key} must be an absolute path; it is '{path}'")
    if spec.get("mode") is not None and not MODE.match(spec["mode"]):
        problems.append(f"{option}: {path}: mode must be octal, such as '0640'; it is '{spec['mode']}'")
    if spec.get("validate") and "%s" not in spec["validate"]:
        problems.append(f"{option}: {path}: validate must contain %s (the new content's path)")
    for name, lookup in (("owner", user_id), ("group", group_id)):
        if spec.get(name) is not None:
            try:
                lookup(spec[name])
            except KeyError:
                kind = "user" if name == "owner" else "group"
                problems.append(f"{option}: {path}: no {kind} '{spec[name]}' on this host")
    return problems


def listed_twice(option, paths):
    absolute = [os.path.realpath(path) for path in paths if os.path.isabs(path)]
    return [f"{option}: {path} is listed twice" for path in repeated(absolute)]


def user_id(owner):
    """The uid of a user name, or a numeric ID as it is (a container's user need not exist on the host)."""
    return int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid


def group_id(group):
    """The gid of a group name, or a numeric ID as it is."""
    return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid


def wanted_attributes(spec, current, new_mode):
    """(uid, gid, mode) it must have: the given ones, else the current ones, else defaults."""
    uid = user_id(spec["owner"]) if spec.get("owner") else (current.st_uid if current else os.geteuid())
    gid = group_id(spec["group"]) if spec.get("group") else (current.st_gid if current else os.getegid())
    if spec.get("mode") is not None:
        mode = int(spec["mode"], 8)
    else:
        mode = stat.S_IMODE(current.st_mode) if current else new_mode
    return uid, gid, mode


def current_state(path):
    """The path's stat and its (uid, gid, mode), or (None, None) where nothing is there."""
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return None, None
    return current, (current.st_uid, current.st_gid, stat.S_IMODE(current.st_mode))


def describe(attributes):
    return f"owner {attributes[0]}, group {attributes[1]}, mode {attributes[2]:04o}" if attributes else "absent"


def converge_directory(module, spec):
    """Make one directory exist with its owner, group and mode; returns (changed, diff or None)."""
    path = os.path.realpath(spec["path"])
    current, now = current_state(path)
    if current and not stat.S_ISDIR(current.st_mode):
        module.fail_json(msg=f"directories: {spec['path']} exists and is not a directory")
    uid, gid, mode = wanted_attributes(spec, current, 0o755)
    changed = now != (uid, gid, mode)
    diff = None
    if changed and module._diff:
        diff = {
            "before_header": f"{spec['path']} (directory)",
            "after_header": f"{spec['path']} (directory)",
            "before": describe(now) + "\n",
            "after": describe((uid, gid, mode)) + "\n",
        }
    if changed and not module.check_mode:
        if current is None:
            os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
            os.mkdir(path, 0o700)  # no wider than wanted until its owner and mode are set
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return changed, diff


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def replace(module, dest, content, uid, gid, mode, validate):
    """Write content beside dest with its final owner and mode, validate it, then rename it over dest."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".onlywave-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        os.chown(tmp, uid, gid)
        if validate:
            rc, out, err = module.run_command(validate % tmp)
            if rc != 0:
                module.fail_json(msg=f"files: {dest}: validate refused the new content (rc {rc}): {err or out}")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def converge(module, spec):
    """Make one file match; returns (changed, diff or None)."""
    dest = os.path.realpath(spec["dest"])
    content = to_bytes(spec["content"], errors="surrogate_or_strict")
    if not os.path.isdir(os.path.dirname(dest)):
        if module.check_mode:
            return True, None  # O(directories) or an earlier task would make it
        module.fail_json(msg=f"files: {spec['dest']}: its directory {os.path.dirname(dest)} does not exist")
    current, now = current_state(dest)
    before = read(dest) if current else None
    uid, gid, mode = wanted_attributes(spec, current, 0o644)
    content_changed = before != content
    attributes_changed = now != (uid, gid, mode)
    changed = content_changed or attributes_changed
    diff = None
    if changed and module._diff and spec["diff"]:
        diff = {
            "before_header": f"{spec['dest']} ({describe(now)})",
            "after_header": f"{spec['dest']} ({describe((uid, gid, mode))})",
            "before": to_native(before or b"", errors="surrogate_then_replace"),
            "after": to_native(content, errors="surrogate_then_replace"),
        }
    if changed and not module.check_mode:
        if content_changed:
            replace(module, dest, content, uid, gid, mode, spec.get("validate"))
        else:
            os.chown(dest, uid, gid)
            os.chmod(dest, mode)
    return changed, diff


def unit_state(module, name):
    """The unit's LoadState, UnitFileState and ActiveState, as systemctl shows them."""
    rc, out, err = module.run_command(
        ["systemctl", "show", "--property=LoadState,UnitFileState,ActiveState", "--", name]
    )
    if rc != 0:
        module.fail_json(msg=f"services: {name}: systemctl show failed (rc {rc}): {err or out}")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def converge_service(module, spec, units_written, changed_paths):
    """Enable the unit, start it unless start is false, and restart or reload it if a file it watches
    changed while it ran; returns (commands, diff or None)."""
    name = spec["name"]
    state = unit_state(module, name)
    loaded = state.get("LoadState")
    if loaded == "not-found" and module.check_mode and units_written:
        return ["enable"] + (["start"] if spec["start"] else []), None  # a unit file of this call would make it
    if loaded != "loaded":
        module.fail_json(msg=f"services: {name}: the unit is {loaded or 'unknown'} on this host")
    enabled = state.get("UnitFileState") in ENABLED
    active = state.get("ActiveState") in ACTIVE
    commands = ([] if enabled else ["enable"]) + ([] if active or not spec["start"] else ["start"])
    watched_changes = sorted(changed_paths & {os.path.realpath(path) for path in spec["watch"]})
    if active and watched_changes:
        commands.append("restart" if spec["on_change"] == "restarted" else "reload")
    if not commands:
        return [], None
    diff = None
    if module._diff:
        applied = f" ({spec['on_change']}: {', '.join(watched_changes)} changed)" if active and watched_changes else ""
        diff = {
            "before_header": f"{name} (service)",
            "after_header": f"{name} (service)",
            "before": f"{state.get('UnitFileState')}, {state.get('ActiveState')}\n",
            "after": f"{'enabled' if 'enable' in commands else state.get('UnitFileState')}, "
            f"{'active' if 'start' in commands else state.get('ActiveState')}{applied}\n",
        }
    if not module.check_mode:
        for command in commands:
            rc, out, err = module.run_command(["systemctl", command, "--", name])
            if rc != 0:
                module.fail_json(msg=f"services: {name}: systemctl {command} failed (rc {rc}): {err or out}")
    return commands, diff


def main():
    module = AnsibleModule(
        argument_spec={
            "directories": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                    "mode": {"type": "str"},
                },
            },
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "dest": {"type": "path", "required": True},
                    "content": {"type": "str", "required": True, "no_log": True},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                    "mode": {"type": "str"},
                    "validate": {"type": "str"},
                    "diff": {"type": "bool", "default": True},
                },
            },
            "services": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "start": {"type": "bool", "default": True},
                    "watch": {"type": "list", "elements": "path", "default": []},
                    "on_change": {"type": "str", "choices": ["restarted", "reloaded"], "default": "restarted"},
                },
            },
        },
        supports_check_mode=True,
    )
    directories, files, services = (module.params[key] for key in ("directories", "files", "services"))
    problems = [problem for spec in directories for problem in check_entry("directories", "path", spec)]
    problems += [problem for spec in files for problem in check_entry("files", "dest", spec)]
    problems += listed_twice("directories", [spec["path"] for spec in directories])
    problems += listed_twice("files", [spec["dest"] for spec in files])
    names = [spec["name"] for spec in services]
    problems += [f"services: {name} is listed twice" for name in repeated(names)]
    bad_names = [name for name in names if not name or name.startswith("-")]
    problems += [f"services: a name must not be empty or start with '-'; one is '{name}'" for name in bad_names]
    paths = [spec["path"] for spec in directories] + [spec["dest"] for spec in files]
    listed = {os.path.realpath(path) for path in paths if os.path.isabs(path)}
    problems += [
        f"services: {spec['name']}: watch: {path} is not a file or directory of this call"
        for spec in services
        for path in spec["watch"]
        if os.path.realpath(path) not in listed
    ]
    if problems:
        module.fail_json(msg="; ".join(problems))

    # Contents stay masked in anything logged; the diffs a file allows may show its own.
    for spec in files:
        if spec["diff"]:
            module.no_log_values.discard(spec["content"])
    made, diffs = [], []
    for spec in directories:
        changed, diff = converge_directory(module, spec)
        made.append({"path": spec["path"], "changed": changed})
        if diff:
            diffs.append(diff)
    results = []
    for spec in files:
        changed, diff = converge(module, spec)
        results.append({"dest": spec["dest"], "changed": changed})
        if diff:
            diffs.append(diff)
    changed = [result.get("path", result.get("dest")) for result in made + results if result["changed"]]
    units_written = any(path.startswith(UNITS_DIR) for path in changed)
    if units_written and services and not module.check_mode:
        rc, out, err = module.run_command(["systemctl", "daemon-reload"])
        if rc != 0:
            module.fail_json(msg=f"services: systemctl daemon-reload failed (rc {rc}): {err or out}")
    changed_paths = {os.path.realpath(path) for path in changed}
    started = []
    for spec in services:
        commands, diff = converge_service(module, spec, units_written, changed_paths)
        started.append({"name": spec["name"], "changed": bool(commands), "systemctl": commands})
        if diff:
            diffs.append(diff)
    shown = [{key: value for key, value in spec.items() if key != "content"} for spec in files]
    module.exit_json(
        changed=any(result["changed"] for result in made + results + started),
        directories=made,
        files=results,
        services=started,
        diff=diffs,
        invocation={"module_args": {"directories": directories, "files": shown, "services": services}},
    )


if __name__ == "__main__":
    main()
