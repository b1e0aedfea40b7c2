"""Secrets as files: NAME_FILE sets NAME, passwords go into the URLs in memory only, and a
misconfiguration fails at start-up with a message that names the variable, never the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_file_variable_sets_the_setting_without_its_trailing_newline(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN_FILE", write(tmp_path, "admin_token", "t0ken\n"))
    assert Settings(_env_file=None).ADMIN_TOKEN == "t0ken"


def test_password_files_complete_the_urls_percent_encoded(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@postgres:5432/app")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", write(tmp_path, "db", "p@ss:w/rd"))
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", write(tmp_path, "redis", "r3d1s"))
    s = Settings(_env_file=None)
    assert s.DATABASE_URL == "postgresql+asyncpg://app:p%40ss%3Aw%2Frd@postgres:5432/app"
    assert s.REDIS_URL == "redis://:r3d1s@redis:6379/0"
    assert "r3d1s" not in repr(s.REDIS_PASSWORD) and "p@ss" not in str(s.DATABASE_PASSWORD)


def test_a_password_file_replaces_a_password_written_in_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app:old@127.0.0.1:5432/app")
    monkeypatch.setenv("DATABASE_PASSWORD_FILE", write(tmp_path, "db", "new"))
    assert Settings(_env_file=None).DATABASE_URL == "postgresql+asyncpg://app:new@127.0.0.1:5432/app"


def test_both_variable_and_file_set_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("ADMIN_TOKEN_FILE", write(tmp_path, "admin_token", "from-file"))
    with pytest.raises((ValueError, ValidationError), match="both ADMIN_TOKEN and ADMIN_TOKEN_FILE"):
        Settings(_env_file=None)


def test_an_unreadable_file_names_the_variable_and_not_the_content(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises((ValueError, ValidationError)) as caught:
        Settings(_env_file=None)
    assert "REDIS_PASSWORD_FILE" in str(caught.value) and "missing" in str(caught.value)
