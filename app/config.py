"""The application's settings: one pydantic-settings class for the whole process.

It extends the observability kit's settings with the demo service's own variables.
Every variable is listed, with a comment, in .env.example.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from app.observability.settings import ObservabilitySettings
from app.secret_files import FileVariablesSource, url_with_password


class Settings(ObservabilitySettings):
    DATABASE_URL: str = "postgresql+asyncpg://app:app@127.0.0.1:5432/app"
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=5, ge=0)
    DB_POOL_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)  # wait for a free connection
    DB_CONNECT_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0)
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=15_000, ge=0)
    # Passwords kept out of the URLs (usually DATABASE_PASSWORD_FILE / REDIS_PASSWORD_FILE,
    # app/secret_files.py); when set, they replace the password in the URL, in memory only.
    DATABASE_PASSWORD: SecretStr | None = None

    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    REDIS_PASSWORD: SecretStr | None = None
    REDIS_TIMEOUT_SECONDS: float = Field(default=0.2, gt=0)  # a cache must fail fast
    CACHE_TTL_SECONDS: int = Field(default=60, ge=1)
    ACTIVE_USER_WINDOW_SECONDS: int = Field(default=300, ge=1)

    # larger request bodies are answered 413 before they are read (0: only empty bodies)
    MAX_REQUEST_BODY_BYTES: int = Field(default=1024 * 1024, ge=0)

    HEALTH_CHECK_TIMEOUT_SECONDS: float = Field(default=1.0, gt=0)

    # outbound call for GET /api/v1/items/{id}/enrich (client spans); empty = this app itself
    ENRICH_URL: str = ""
    ENRICH_TIMEOUT_SECONDS: float = Field(default=2.0, gt=0)
    PORT: int = 8000

    # failure injection (admin API protected by ADMIN_TOKEN; empty token disables it)
    ADMIN_TOKEN: str = ""
    FAULT_ERROR_RATE_PERCENT: float = Field(default=0.0, ge=0, le=100)
    FAULT_LATENCY_MS: int = Field(default=0, ge=0)
    FAULT_SLOW_QUERY_MS: int = Field(default=0, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # NAME_FILE variables (secrets mounted as files) rank right after explicit arguments.
        file_variables = FileVariablesSource(settings_cls)
        return init_settings, file_variables, env_settings, dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _passwords_into_urls(self) -> Settings:
        # An empty value (e.g. `DATABASE_PASSWORD=` in an env file) means "not set".
        if self.DATABASE_PASSWORD and self.DATABASE_PASSWORD.get_secret_value():
            self.DATABASE_URL = url_with_password(self.DATABASE_URL, self.DATABASE_PASSWORD.get_secret_value())
        if self.REDIS_PASSWORD and self.REDIS_PASSWORD.get_secret_value():
            self.REDIS_URL = url_with_password(self.REDIS_URL, self.REDIS_PASSWORD.get_secret_value())
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
