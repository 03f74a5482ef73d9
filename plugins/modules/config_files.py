#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: config_files
short_description: Several configuration files, their owner and mode, in one module run
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
  - Every option of every file is checked before any file is written; the message names the file.
  - Contents are never logged and never returned. A diff shows a file's old and new contents only
    where O(files[].diff) is true; secret-bearing files set it to false and show only that they
    changed.
options:
  files:
    description: The files, each written as a whole.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: The file's absolute path. Its directory must exist.
        type: path
        required: true
      content:
        description: The whole content.
        type: str
        required: true
      owner:
        description: The owning user (a name); the existing file's, or the connecting user's, if unset.
        type: str
      group:
        description: The owning group (a name); the existing file's, or the user's group, if unset.
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
attributes:
  check_mode:
    support: full
    description: Reports which files would change and, in diff mode, how; writes nothing.
  diff_mode:
    support: full
    description: One diff per changed file whose O(files[].diff) is true.
  idempotent:
    support: full
    description: A file that already matches is left alone.
notes:
  - Runs as one module call, so with pipelining a no-op over any number of files is a single
    remote execution.
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
  notify: Restart redis

- name: Let the administrators use sudo (checked by visudo)
  onlywave.infra.config_files:
    files:
      - dest: /etc/sudoers.d/admins
        content: "%admins ALL=(ALL:ALL) NOPASSWD: ALL\n"
        mode: "0440"
        validate: /usr/sbin/visudo -cf %s
"""

RETURN = r"""
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
"""

import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

MODE = re.compile(r"^0?[0-7]{3,4}$")


def check_file(spec):
    """The problems of one file's options, as messages naming the file."""
    dest = spec["dest"]
    problems = []
    if not os.path.isabs(dest):
        problems.append(f"files: dest must be an absolute path; it is '{dest}'")
    if spec.get("mode") is not None and not MODE.match(spec["mode"]):
        problems.append(f"files: {dest}: mode must be octal, such as '0640'; it is '{spec['mode']}'")
    if spec.get("validate") and "%s" not in spec["validate"]:
        problems.append(f"files: {dest}: validate must contain %s (the new content's path)")
    for key, lookup in (("owner", pwd.getpwnam), ("group", grp.getgrnam)):
        if spec.get(key) is not None:
            try:
                lookup(spec[key])
            except KeyError:
                problems.append(f"files: {dest}: no {'user' if key == 'owner' else 'group'} '{spec[key]}' on this host")
    return problems


def wanted_attributes(spec, current):
    """(uid, gid, mode) the file must have: the given ones, else the current file's, else defaults."""
    uid = pwd.getpwnam(spec["owner"]).pw_uid if spec.get("owner") else (current.st_uid if current else os.geteuid())
    gid = grp.getgrnam(spec["group"]).gr_gid if spec.get("group") else (current.st_gid if current else os.getegid())
    if spec.get("mode") is not None:
        mode = int(spec["mode"], 8)
    else:
        mode = stat.S_IMODE(current.st_mode) if current else 0o644
    return uid, gid, mode


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
            return True, None  # an earlier task would make the directory
        module.fail_json(msg=f"files: {spec['dest']}: its directory {os.path.dirname(dest)} does not exist")
    try:
        current = os.stat(dest)
    except FileNotFoundError:
        current = None
    before = read(dest) if current else None
    uid, gid, mode = wanted_attributes(spec, current)
    content_changed = before != content
    now = (current.st_uid, current.st_gid, stat.S_IMODE(current.st_mode)) if current else None
    attributes_changed = now != (uid, gid, mode)
    changed = content_changed or attributes_changed
    diff = None
    if changed and module._diff and spec["diff"]:
        was = f"owner {now[0]}, group {now[1]}, mode {now[2]:04o}" if now else "absent"
        diff = {
            "before_header": f"{spec['dest']} ({was})",
            "after_header": f"{spec['dest']} (owner {uid}, group {gid}, mode {mode:04o})",
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


def main():
    module = AnsibleModule(
        argument_spec={
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
            }
        },
        supports_check_mode=True,
    )
    files = module.params["files"]
    problems = [problem for spec in files for problem in check_file(spec)]
    dests = [os.path.realpath(spec["dest"]) for spec in files if os.path.isabs(spec["dest"])]
    problems += [f"files: {dest} is listed twice" for dest in sorted({d for d in dests if dests.count(d) > 1})]
    if problems:
        module.fail_json(msg="; ".join(problems))

    # Contents stay masked in anything logged; the diffs a file allows may show its own.
    for spec in files:
        if spec["diff"]:
            module.no_log_values.discard(spec["content"])
    results, diffs = [], []
    for spec in files:
        changed, diff = converge(module, spec)
        results.append({"dest": spec["dest"], "changed": changed})
        if diff:
            diffs.append(diff)
    shown = [{key: value for key, value in spec.items() if key != "content"} for spec in files]
    module.exit_json(
        changed=any(result["changed"] for result in results),
        files=results,
        diff=diffs,
        invocation={"module_args": {"files": shown}},
    )


if __name__ == "__main__":
    main()
