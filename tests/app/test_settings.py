"""Settings: .env.example documents exactly the settings fields and parses as an env file."""

from __future__ import annotations

import re
import socket

from helpers import ROOT

from app.config import Settings


def test_env_example_lists_every_setting_and_loads():
    text = (ROOT / ".env.example").read_text()
    listed = re.findall(r"^([A-Z_]+)=", text, re.M)
    assert sorted(listed) == sorted(Settings.model_fields), "every setting once, nothing else"
    for line in text.splitlines():
        if re.match(r"^[A-Z_]+=", line):
            assert "#" in line, f"undocumented: {line}"
    loaded = Settings(_env_file=ROOT / ".env.example")
    assert loaded.LOG_FILE is None and loaded.SENTRY_DSN is None
    assert loaded.TRACE_SAMPLE_RATE == 0.05 and loaded.LOG_SAMPLE_INFO == 0.1
    assert loaded.OBSERVABILITY_ENABLED is True and loaded.APP_ENV == "development"


def test_master_switch_wins_over_signal_switches():
    s = Settings(_env_file=None, OBSERVABILITY_ENABLED=False, SENTRY_DSN="http://k@127.0.0.1:1/1")
    assert not (s.metrics_on or s.tracing_on or s.access_log_on or s.sampling_on or s.sentry_on)
    s = Settings(_env_file=None, TRACING_ENABLED=False)
    assert s.metrics_on and not s.tracing_on and s.json_logs is False


def test_each_replica_gets_its_own_log_file_and_instance_id(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "app-2")
    s = Settings(LOG_FILE="/var/log/app/app-{hostname}.log", SERVICE_INSTANCE_ID="")
    assert s.LOG_FILE == "/var/log/app/app-app-2.log"
    assert s.SERVICE_INSTANCE_ID == "app-2"
    monkeypatch.setattr(socket, "gethostname", lambda: "../../etc/x y")  # never a path out of the folder
    assert Settings(LOG_FILE="/logs/app-{hostname}.log").LOG_FILE == "/logs/app-.._.._etc_x_y.log"
