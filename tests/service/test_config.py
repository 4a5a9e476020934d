"""Settings read from the environment, as the README's configuration table lists them."""
from __future__ import annotations

from service.config import DEFAULTS, from_environment


def test_ticket_policy_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPLAINT_CATEGORIES", "complaint, 投诉 ,escalation,")
    monkeypatch.setenv("REOPEN_GRACE_DAYS", "3")
    monkeypatch.setenv("TASK_DEFAULT_MINUTES", "480")
    monkeypatch.setenv("WEEKLY_REPORTS_ENABLED", "false")
    config = from_environment(tmp_path)
    assert config["COMPLAINT_CATEGORIES"] == ["complaint", "投诉", "escalation"]
    assert config["REOPEN_GRACE_DAYS"] == 3 and config["TASK_DEFAULT_MINUTES"] == 480
    assert config["WEEKLY_REPORTS_ENABLED"] is False


def test_unset_settings_keep_their_defaults(monkeypatch, tmp_path):
    for name in ("COMPLAINT_CATEGORIES", "REOPEN_GRACE_DAYS", "TASK_DEFAULT_MINUTES",
                 "WEEKLY_REPORTS_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    config = from_environment(tmp_path)
    assert "COMPLAINT_CATEGORIES" not in config and "REOPEN_GRACE_DAYS" not in config
    assert DEFAULTS["COMPLAINT_CATEGORIES"] == ["complaint", "投诉"]
    assert config["WEEKLY_REPORTS_ENABLED"] is True
