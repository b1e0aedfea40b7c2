"""Observability settings: every knob of the kit, read from the environment.

The application's own settings class subclasses this one, so there is exactly one
pydantic-settings class per process (see app/config.py).
"""

from __future__ import annotations

import re
import socket
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _hostname() -> str:
    """This host's name, reduced to characters safe in a file name and a label value."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:253] or "unknown"


class ObservabilitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # --- identity (OTel resource attributes, app_info, every log line) ---------------
    APP_NAME: str = Field(default="fastapi-app", validation_alias=AliasChoices("APP_NAME", "OTEL_SERVICE_NAME"))
    APP_VERSION: str = "1.0.0"
    APP_ENV: Literal["development", "production"] = "development"
    # OTel `service.instance.id`: tells the replicas of one service apart in traces. The
    # hostname is unique per container (Docker: the container ID; Kubernetes: the pod name).
    SERVICE_INSTANCE_ID: str = Field(default_factory=_hostname, min_length=1, max_length=253)

    # --- master switch + one switch per signal ----------------------------------------
    OBSERVABILITY_ENABLED: bool = True
    METRICS_ENABLED: bool = True
    TRACING_ENABLED: bool = True
    ACCESS_LOG_ENABLED: bool = True
    LOG_SAMPLING_ENABLED: bool = True

    # --- logging -----------------------------------------------------------------------
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    LOG_FORMAT: Literal["auto", "json", "console"] = "auto"  # auto: json in production
    # Rotating JSON-lines file in addition to stdout. `{hostname}` in it becomes this host's
    # name, so replicas sharing one log volume write one file each (app-{hostname}.log).
    LOG_FILE: str | None = None
    LOG_FILE_MAX_BYTES: int = Field(default=50 * 1024 * 1024, ge=1024)
    LOG_FILE_BACKUP_COUNT: int = Field(default=3, ge=0)
    LOG_SAMPLE_WARNING: float = Field(default=0.5, ge=0.0, le=1.0)
    LOG_SAMPLE_INFO: float = Field(default=0.1, ge=0.0, le=1.0)
    LOG_INFO_MAX_PER_SECOND: int = Field(default=100, ge=0)
    LOG_DEDUP_WINDOW_SECONDS: float = Field(default=60.0, ge=0.0)
    LOG_DEDUP_MAX_KEYS: int = Field(default=10_000, ge=1)
    LOG_BUFFER_PER_REQUEST: int = Field(default=64, ge=0)  # held back until keep/drop

    # --- metrics -----------------------------------------------------------------------
    METRICS_MAX_LABEL_VALUES: int = Field(default=200, ge=1)  # per label, last resort

    # --- tracing -----------------------------------------------------------------------
    OTEL_EXPORTER_OTLP_ENDPOINT: str = "http://localhost:4317"  # OTLP gRPC
    TRACE_SAMPLING_MODE: Literal["app", "collector"] = "app"
    TRACE_SAMPLE_RATE: float = Field(default=0.05, ge=0.0, le=1.0)
    TRACE_SLOW_THRESHOLD_MS: float = Field(default=1000.0, ge=0.0)
    TRACE_EXPORT_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0.0)
    TRACE_QUEUE_SIZE: int = Field(default=2048, ge=16)  # exported requests (or lone spans) awaiting export
    TRACE_MAX_SPANS_PER_REQUEST: int = Field(default=256, ge=1)
    DB_SPANS: Literal["kit", "otel"] = "kit"  # kit: lean listener; otel: upstream instrumentation

    # --- errors ------------------------------------------------------------------------
    SENTRY_DSN: str | None = None
    SENTRY_ENVIRONMENT: str | None = None  # defaults to APP_ENV

    @field_validator("LOG_FILE", "SENTRY_DSN", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("SERVICE_INSTANCE_ID", mode="before")
    @classmethod
    def _empty_is_hostname(cls, value: object) -> object:
        return value or _hostname()

    @field_validator("LOG_FILE")
    @classmethod
    def _hostname_placeholder(cls, value: str | None) -> str | None:
        return value.replace("{hostname}", _hostname()) if value else value

    # effective switches: the master switch wins
    @property
    def metrics_on(self) -> bool:
        return self.OBSERVABILITY_ENABLED and self.METRICS_ENABLED

    @property
    def tracing_on(self) -> bool:
        return self.OBSERVABILITY_ENABLED and self.TRACING_ENABLED

    @property
    def access_log_on(self) -> bool:
        return self.OBSERVABILITY_ENABLED and self.ACCESS_LOG_ENABLED

    @property
    def sampling_on(self) -> bool:
        return self.OBSERVABILITY_ENABLED and self.LOG_SAMPLING_ENABLED

    @property
    def sentry_on(self) -> bool:
        return self.OBSERVABILITY_ENABLED and bool(self.SENTRY_DSN)

    @property
    def json_logs(self) -> bool:
        if self.LOG_FORMAT == "auto":
            return self.APP_ENV == "production"
        return self.LOG_FORMAT == "json"
