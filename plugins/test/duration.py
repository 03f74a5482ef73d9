# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: duration
author: OnlyWave platform team (@onlywave)
version_added: 0.2.0
short_description: Whether a string is a duration in the syntax of the program that reads it
description:
  - C(prometheus) (the default; Prometheus and Alertmanager) - units ms, s, m, h, d, w, y,
    which may be combined, for example C(30s) or C(1h30m).
  - C(haproxy) - one number with an optional unit us, ms, s, m, h or d (no unit - milliseconds),
    for example C(500ms) or C(30s).
  - C(systemd) - systemd.time spans, for example C(15min), C(1h 30min) or C(90s).
  - A duration must be more than zero.
options:
  _input:
    description: The string to test.
    type: str
    required: true
  syntax:
    description: Whose syntax.
    type: str
    default: prometheus
    choices: [prometheus, haproxy, systemd]
"""

EXAMPLES = r"""
- name: Fail on a bad interval
  ansible.builtin.assert:
    that:
      - alertmanager_group_wait is onlywave.infra.duration
      - lb_timeout_client is onlywave.infra.duration('haproxy')
      - backup_randomized_delay is onlywave.infra.duration('systemd')
"""

RETURN = r"""
_value:
  description: Whether the input is a duration in that syntax, longer than zero.
  type: bool
"""

import re

_UNIT_COUNTS = {
    "prometheus": re.compile(r"^(?:([0-9]+)(?:ms|s|m|h|d|w|y))+$"),
    "haproxy": re.compile(r"^([0-9]+)(?:us|ms|s|m|h|d)?$"),
    "systemd": re.compile(
        r"^(?:([0-9]+) ?(?:usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h"
        r"|days|day|d|weeks|week|w|months|month|M|years|year|y) ?)+$"
    ),
}


def duration(value, syntax="prometheus"):
    if syntax not in _UNIT_COUNTS:
        raise ValueError(f"duration: syntax must be one of {', '.join(_UNIT_COUNTS)}; it is {syntax!r}")
    if not isinstance(value, str):
        return False
    pattern = _UNIT_COUNTS[syntax]
    if not pattern.match(value.strip() if syntax == "systemd" else value):
        return False
    return any(int(count) > 0 for count in re.findall(r"[0-9]+", value))


class TestModule:
    def tests(self):
        return {"duration": duration}
