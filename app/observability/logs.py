"""structlog configuration: one processor chain for app events and stdlib records.

    app code ---structlog---> CHAIN (sampler drops early) ---> stdlib handlers ---+
    uvicorn, SQLAlchemy --stdlib--> SamplingFilter --> FOREIGN_CHAIN --------------+--> formatter_chain
                                                                          (service, exc, JSON/console)

Outputs: stdout (JSON in production, console in development) and, when LOG_FILE is set, a
size-rotated JSON-lines file for the log shipper; LineHandler formats a line once for both.
JSON is rendered with orjson.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import Any

import structlog

from . import processors as p
from .log_sampling import ACCESS_LOGGER, LogSampler, SamplingFilter
from .settings import ObservabilitySettings

# stdlib loggers whose own handlers we remove so they flow through ours
_ADOPTED = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "alembic", "httpx")


def build_sampler(s: ObservabilitySettings) -> LogSampler | None:
    if not s.sampling_on:
        return None
    return LogSampler(
        warning_rate=s.LOG_SAMPLE_WARNING,
        info_rate=s.LOG_SAMPLE_INFO,
        info_per_second=s.LOG_INFO_MAX_PER_SECOND,
        dedup_window=s.LOG_DEDUP_WINDOW_SECONDS,
        dedup_max_keys=s.LOG_DEDUP_MAX_KEYS,
        buffer_per_request=s.LOG_BUFFER_PER_REQUEST,
        debug_enabled=s.APP_ENV != "production",
    )


class _SamplerSlot:
    """Chain entry for the sampler. Loggers cache their chain on first use, so the chain
    holds this slot and configure_logging() swaps the sampler inside it."""

    sampler: LogSampler | None = None

    def __call__(self, logger: Any, method_name: str, event_dict: dict) -> dict:
        sampler = self.sampler
        return event_dict if sampler is None else sampler(logger, method_name, event_dict)


SAMPLER = _SamplerSlot()

# Runs for every structlog event; the sampler is the third step, so a dropped event
# costs two dict writes and one decision.
CHAIN = [
    structlog.stdlib.add_log_level,  # "level": lowercase name
    structlog.stdlib.add_logger_name,  # "logger"
    SAMPLER,  # DropEvent here (or held back for the request's keep decision)
    p.add_timestamp,  # ISO 8601 UTC "Z", original time for held-back events
    p.add_request_id,  # from the request context
    p.add_trace_context,  # trace_id / span_id, also for unsampled traces
    structlog.contextvars.merge_contextvars,  # anything bound with bind_contextvars
    structlog.stdlib.PositionalArgumentsFormatter(),
    structlog.processors.StackInfoRenderer(),
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,  # hand over to the handlers
]

# Runs for stdlib records (uvicorn, SQLAlchemy, ...) after SamplingFilter let them through.
FOREIGN_CHAIN = [
    structlog.stdlib.add_log_level,
    p.add_foreign_logger_name,
    p.add_timestamp,
    p.add_request_id,
    p.add_trace_context,
    structlog.contextvars.merge_contextvars,
]


def formatter_chain(s: ObservabilitySettings, json: bool) -> list:
    """Last steps, shared by both paths: service fields, exceptions, rendering."""
    head = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        p.make_add_service(s.APP_NAME, s.APP_ENV),
        p.drop_private_keys,
    ]
    if json:
        return [*head, structlog.processors.format_exc_info, p.render_json]
    return [*head, structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())]


def _formatter(s: ObservabilitySettings, json: bool) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=FOREIGN_CHAIN, processors=formatter_chain(s, json))


class LineHandler(logging.Handler):
    """Formats each record once and writes the line to a size-rotated file and, when the
    formats match, to stdout too (a StreamHandler + RotatingFileHandler pair formats it
    three times: RotatingFileHandler.shouldRollover formats once more to measure it)."""

    def __init__(
        self, formatter: logging.Formatter, file: logging.handlers.RotatingFileHandler, echo: Any | None
    ) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.file = file
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            file = self.file
            if file.stream is None:
                file.stream = file._open()
            if file.maxBytes and file.stream.tell() + len(line) >= file.maxBytes:
                file.doRollover()
            file.stream.write(line)
            file.stream.flush()
            if self.echo is not None:
                self.echo.write(line)
                self.echo.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the app
            self.handleError(record)

    def close(self) -> None:
        self.file.close()
        super().close()


def configure_logging(s: ObservabilitySettings) -> LogSampler | None:
    """Configure structlog + stdlib logging once per process. Returns the sampler."""
    sampler = build_sampler(s)
    SAMPLER.sampler = sampler

    handlers: list[logging.Handler] = []
    if s.LOG_FILE:  # always JSON lines: this file is for the log shipper
        os.makedirs(os.path.dirname(s.LOG_FILE) or ".", exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            s.LOG_FILE, maxBytes=s.LOG_FILE_MAX_BYTES, backupCount=s.LOG_FILE_BACKUP_COUNT
        )
        handlers.append(LineHandler(_formatter(s, True), file, echo=sys.stdout if s.json_logs else None))
    if not handlers or not s.json_logs:
        stdout = logging.StreamHandler(sys.stdout)
        stdout.setFormatter(_formatter(s, s.json_logs))
        handlers.append(stdout)
    root = logging.getLogger()
    for old in list(root.handlers):  # this kit owns the root logger's output
        root.removeHandler(old)
        if getattr(old, "_obs_owned", False):
            old.close()
    for handler in handlers:
        handler._obs_owned = True
        if sampler is not None:
            handler.addFilter(SamplingFilter(sampler))
        root.addHandler(handler)
    root.setLevel(s.LOG_LEVEL)

    for name in _ADOPTED:
        adopted = logging.getLogger(name)
        if name == "uvicorn.access" and not adopted.handlers and not adopted.propagate:
            continue  # uvicorn --no-access-log: keep it off
        adopted.handlers.clear()
        adopted.propagate = True
    # our middleware writes the access log; uvicorn's would be a second line per request
    if s.access_log_on:
        logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger(ACCESS_LOGGER).disabled = False

    structlog.configure(
        processors=CHAIN,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(s.LOG_LEVEL)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return sampler
