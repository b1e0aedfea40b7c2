"""Secrets from files: `NAME_FILE=/run/secrets/x` sets the setting NAME to the file's content.

Compose (and Kubernetes) hand secrets to a container as files, so they never show up in
`docker inspect`, the process environment or a crash report's environment dump. The
convention is the one the Postgres and Grafana images use: a variable ending in `_FILE`
names the file; setting both NAME and NAME_FILE is an error rather than a silent choice.

Passwords stay out of the connection URLs in the configuration: the URL names user, host and
database, the password comes from its own file and is put into the URL in memory only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource


class FileVariablesSource(PydanticBaseSettingsSource):
    """Settings source for `<FIELD>_FILE` variables (matched case-insensitively)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._env = {k.upper(): v for k, v in os.environ.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            path = self._env.get(f"{name.upper()}_FILE")
            if not path:
                continue
            if self._env.get(name.upper()):
                raise ValueError(f"both {name} and {name}_FILE are set; set only one")
            try:
                # Secret files often end with a newline (echo, editors); it is never part of it.
                values[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
        return values


def url_with_password(url: str, password: str) -> str:
    """`url` with its password replaced (user and the rest kept); any scheme with user@host."""
    parts = urlsplit(url)
    if not parts.netloc:
        raise ValueError("a password can only be added to a URL with a host")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]  # already percent-encoded as written
    netloc = f"{user}:{quote(password, safe='')}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))
