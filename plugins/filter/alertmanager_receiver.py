# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
DOCUMENTATION = r"""
name: alertmanager_receiver
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: An Alertmanager receiver from the alertmanager role's short form
description:
  - Turns C({name, webhook_urls, slack, email_to}) into Alertmanager's receiver, with
    C(webhook_configs), C(slack_configs) and C(email_configs). Every notifier sends resolved
    notifications too.
options:
  _input:
    description: The receiver, as in the role's C(alertmanager_receivers).
    type: dict
    required: true
"""
EXAMPLES = r"""
- name: Render the receivers
  ansible.builtin.debug:
    msg: "{{ alertmanager_receivers | map('onlywave.infra.alertmanager_receiver') }}"
"""
RETURN = r"""
_value:
  description: The receiver in Alertmanager's form.
  type: dict
"""

SLACK_TITLE = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} on {{ .CommonLabels.host }}"
SLACK_TEXT = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}"


def alertmanager_receiver(receiver):
    rendered = {"name": receiver["name"]}
    webhooks = receiver.get("webhook_urls") or []
    if webhooks:
        rendered["webhook_configs"] = [{"url": url, "send_resolved": True} for url in webhooks]
    slack = receiver.get("slack")
    if slack:
        rendered["slack_configs"] = [
            {
                "api_url": slack["api_url"],
                "channel": slack["channel"],
                "send_resolved": True,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
            }
        ]
    addresses = receiver.get("email_to") or []
    if addresses:
        rendered["email_configs"] = [{"to": address, "send_resolved": True} for address in addresses]
    return rendered


class FilterModule:
    def filters(self):
        return {"alertmanager_receiver": alertmanager_receiver}
