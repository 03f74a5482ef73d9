from ansible_collections.onlywave.infra.plugins.filter.alertmanager_receiver import alertmanager_receiver


def test_a_receiver_without_notifiers_is_a_null_receiver():
    assert alertmanager_receiver({"name": "null"}) == {"name": "null"}


def test_every_notifier_kind_sends_resolved_notifications():
    receiver = alertmanager_receiver(
        {
            "name": "ops",
            "webhook_urls": ["http://hooks.example/a", "http://hooks.example/b"],
            "slack": {"api_url": "https://hooks.slack.example/T0/B0/x", "channel": "#ops"},
            "email_to": ["ops@onlywave.example"],
        }
    )
    assert [hook["url"] for hook in receiver["webhook_configs"]] == ["http://hooks.example/a", "http://hooks.example/b"]
    assert receiver["slack_configs"][0]["channel"] == "#ops"
    assert receiver["email_configs"] == [{"to": "ops@onlywave.example", "send_resolved": True}]
    notifiers = receiver["webhook_configs"] + receiver["slack_configs"] + receiver["email_configs"]
    assert all(notifier["send_resolved"] for notifier in notifiers)
