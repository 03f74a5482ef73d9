# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: placeholder_secret
author: OnlyWave platform team (@onlywave)
version_added: 0.2.0
short_description: Whether a secret is empty or a value nobody should deploy
description:
  - True for an empty or blank value, and for the stand-ins that templates and examples leave
    behind - a value containing C(changeme), C(change-me), C(replace-me), C(replace-with),
    C(placeholder), C(example), C(todo), C(fixme), or a run of eight zeros (as in Slack's
    example C(T00000000)); a value that is only C(password), C(secret), C(admin), C(test),
    C(default) or C(root); a value of one repeated character.
  - Case does not matter. A long random value is never a placeholder.
options:
  _input:
    description: The secret to test.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a placeholder password outside dev
  ansible.builtin.assert:
    that: redis_password is not onlywave.infra.placeholder_secret
    fail_msg: redis_password is empty or a placeholder; set it in the environment's vault.
"""

RETURN = r"""
_value:
  description: Whether the input is empty or a placeholder.
  type: bool
"""

import re

_MARKERS = re.compile(r"change[-_ ]?me|replace[-_ ]?(me|with)|placeholder|example|todo|fixme|00000000", re.IGNORECASE)
_WORDS = {"password", "passwd", "secret", "admin", "test", "default", "root", "none", "null"}


def placeholder_secret(value):
    text = "" if value is None else str(value).strip()
    return not text or len(set(text)) == 1 or text.lower() in _WORDS or _MARKERS.search(text) is not None


class TestModule:
    def tests(self):
        return {"placeholder_secret": placeholder_secret}
