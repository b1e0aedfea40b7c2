"""structlog configuration: one processor chain for app events and stdlib records.

    app code ---structlog---> build_chain (sampler drops early) ---> stdlib handlers ---+
    uvicorn, SQLAlchemy --stdlib--> SamplingFilter --> FOREIGN_CHAIN --------------+--> formatter_chain
                                                                          (service, exc, JSON/console)

Outputs: stdout (JSON in production, console in development) and, when LOG_FILE is set, a
size-rotated JSON-lines file for the log shipper; LineHandler formats a line once for both.
JSON is rendered with orjson.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from prometheus_client import Counter

from . import processors as p
from .log_sampling import ACCESS_LOGGER, LogSampler, SamplingFilter
from .settings import ObservabilitySettings

# Registered in prometheus_client's process-wide registry (module level because that
# registry is): a failing log sink must be visible somewhere that is not the log.
LOG_WRITE_ERRORS = Counter("log_write_errors_total", "Log lines a sink could not write (dropped)", ["sink"])

_OWNED = "app.observability"  # handler name: ours to close when configuring again

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


def build_chain(sampler: LogSampler | None) -> list[Any]:
    """Runs for every structlog event; the sampler is the third step, so a dropped event
    costs two dict writes and one decision."""
    return [
        structlog.stdlib.add_log_level,  # "level": lowercase name
        structlog.stdlib.add_logger_name,  # "logger"
        *([sampler] if sampler is not None else []),  # DropEvent here (or held back for the request)
        p.add_timestamp,  # ISO 8601 UTC "Z", original time for held-back events
        p.add_request_id,  # from the request context
        p.add_trace_context,  # trace_id / span_id, also for unsampled traces
        structlog.contextvars.merge_contextvars,  # anything bound with bind_contextvars
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.StackInfoRenderer(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,  # hand over to the handlers
    ]


def current_sampler() -> LogSampler | None:
    """The sampler in the configured chain (the middleware decides access lines with it)."""
    if not structlog.is_configured():
        return None
    return next((x for x in structlog.get_config()["processors"] if isinstance(x, LogSampler)), None)


# Runs for stdlib records (uvicorn, SQLAlchemy, ...) after SamplingFilter let them through.
FOREIGN_CHAIN: list[Any] = [
    structlog.stdlib.add_log_level,
    p.add_foreign_logger_name,
    p.redact_foreign_event,  # URLs with ?token=..., e-mails in library messages
    p.add_timestamp,
    p.add_request_id,
    p.add_trace_context,
    structlog.contextvars.merge_contextvars,
]


def formatter_chain(s: ObservabilitySettings, json: bool) -> list[Any]:
    """Last steps, shared by both paths: service fields, exceptions, rendering."""
    head = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        p.make_add_service(s.APP_NAME, s.APP_ENV),
        p.drop_private_keys,
    ]
    if json:
        return [*head, p.format_exc_info, p.render_json]
    return [*head, p.format_exc_info, structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty())]


def _formatter(s: ObservabilitySettings, json: bool) -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=FOREIGN_CHAIN, processors=formatter_chain(s, json))


class FileSink:
    """The size-rotated JSON-lines file, written so that a failing disk degrades logging
    instead of stopping it.

    Disk full, an unwritable path, a vanished directory: the line is dropped, counted in
    log_write_errors_total{sink="file"}, and one warning line goes to stderr at most every
    WARN_INTERVAL seconds (a traceback per record would flood stderr exactly when it is
    needed). The file is reopened at most every RETRY_SECONDS, so logging resumes by
    itself once the disk has room again, without an open() attempt per line meanwhile.
    """

    WARN_INTERVAL = 60.0
    RETRY_SECONDS = 5.0

    def __init__(self, path: str, max_bytes: int, backup_count: int, clock: Any = time.monotonic) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.clock = clock
        self.stream: Any = None
        self.failures = 0
        self._retry_at = 0.0
        self._warned_at: float | None = None
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            if self.stream is None and self.clock() < self._retry_at:
                self._failed(None)
                return
            try:
                if self.stream is None:
                    os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                    self.stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                position = self.stream.tell()
                if self.max_bytes and position and position + len(line) >= self.max_bytes:
                    self._rollover()
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError) as exc:  # ValueError: write to a closed file
                self._drop_stream()
                self._retry_at = self.clock() + self.RETRY_SECONDS
                self._failed(exc)

    def _rollover(self) -> None:
        self._drop_stream()
        for index in range(self.backup_count - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        if self.backup_count > 0:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.truncate(self.path, 0)
        self.stream = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _drop_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # flushing the unwritten rest fails again: nothing to keep

    def _failed(self, exc: BaseException | None) -> None:
        self.failures += 1
        LOG_WRITE_ERRORS.labels("file").inc()
        now = self.clock()
        if self._warned_at is None or now - self._warned_at >= self.WARN_INTERVAL:
            self._warned_at = now
            reason = f"{type(exc).__name__}: {exc}" if exc is not None else "still failing"
            with contextlib.suppress(Exception):  # stderr itself may be gone
                sys.stderr.write(
                    f"log file {self.path!r} not writable ({reason}); lines go to stdout only, "
                    f"counted in log_write_errors_total; next warning in {self.WARN_INTERVAL:.0f}s at the earliest\n"
                )
                sys.stderr.flush()

    def close(self) -> None:
        with self._lock:
            self._drop_stream()


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stdout when it is the only sink for its format (console in development). A closed
    or broken stdout (EPIPE) counts in log_write_errors_total{sink="stdout"} instead of
    printing a traceback per record to stderr."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - stdlib name
        LOG_WRITE_ERRORS.labels("stdout").inc()

    def write_line(self, line: str) -> None:
        """A line formatted elsewhere (AccessWriter); same stream, same failure counting."""
        try:
            self.stream.write(line)
            self.flush()
        except (OSError, ValueError):
            LOG_WRITE_ERRORS.labels("stdout").inc()


class LineHandler(logging.Handler):
    """Formats each record once and writes the line to stdout (when the formats match)
    and then to the file sink. stdout comes first and is independent of the file: a
    full disk never silences it. (A StreamHandler + RotatingFileHandler pair formats a
    line three times, and a RotatingFileHandler that cannot write prints a traceback per
    record to stderr.)"""

    def __init__(self, formatter: logging.Formatter, file: FileSink, echo: Any | None) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.file = file
        self.echo = echo

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging must never raise into the app
            self.handleError(record)
            return
        self.write_line(line)

    def write_line(self, line: str) -> None:
        if self.echo is not None:
            try:
                self.echo.write(line)
                self.echo.flush()
            except (OSError, ValueError):
                LOG_WRITE_ERRORS.labels("stdout").inc()  # nowhere left to say it but the metric
        self.file.write(line)

    def close(self) -> None:
        self.file.close()
        super().close()


class AccessWriter:
    """The access line of a request, rendered and written directly.

    Why: through structlog and stdlib logging an access line costs about 25 us (ten
    processors, a LogRecord, the formatter's own chain); kept requests always log, so at a
    5 % sample rate plus the info cap that was the largest single item of the middleware's
    end-of-request work. This writer builds the same JSON object, key for key and in the
    same order (tests/kit/test_access_writer.py compares it with the chain's line), and
    hands it to the kit's handlers under their locks: about 6 us.

    It only serves the configuration it was built for: JSON lines, the kit's own handlers
    on the root logger. If anything else is attached later (pytest's caplog, a handler of
    yours) or the access logger is switched off, write() returns False and the caller
    logs the normal way.
    """

    def __init__(self, handlers: list[logging.Handler], service: str, environment: str) -> None:
        self.handlers = handlers
        self.service = service
        self.environment = environment
        self.root = logging.getLogger()
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self._stamp = (-1, "")  # (second, its formatted prefix), swapped as one object

    def usable(self, levelno: int) -> bool:
        return self.root.handlers == self.handlers and self.logger.isEnabledFor(levelno)

    def timestamp(self, now: float) -> str:
        """processors.add_timestamp's format (ISO 8601, milliseconds, Z), formatted once a second."""
        second = int(now)
        micros = round((now - second) * 1e6)  # datetime.fromtimestamp() rounds to microseconds first
        if micros >= 1_000_000:
            second, micros = second + 1, micros - 1_000_000
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        return f"{stamp[1]}.{micros // 1000:03d}Z"

    def write(self, level: str, levelno: int, fields: dict[str, Any], request_id: str, trace: Any) -> bool:
        if not self.usable(levelno):
            return False
        fields["event"] = "request"
        fields["level"] = level
        fields["logger"] = ACCESS_LOGGER
        fields["timestamp"] = self.timestamp(time.time())
        fields["request_id"] = request_id
        if trace is not None:
            fields["trace_id"] = format(trace[0], "032x")
            fields["span_id"] = format(trace[1], "016x")
        structlog.contextvars.merge_contextvars(None, "", fields)
        fields.setdefault("service", self.service)
        fields.setdefault("environment", self.environment)
        try:
            line = (
                orjson.dumps({k: v for k, v in fields.items() if not k.startswith("_")}, default=repr).decode() + "\n"
            )
        except Exception:  # noqa: BLE001 - the normal path will try (and report) instead
            return False
        for handler in self.handlers:
            handler.acquire()
            try:
                handler.write_line(line)  # type: ignore[attr-defined]  # LineHandler / StdoutHandler
            finally:
                handler.release()
        return True


_access_writer: AccessWriter | None = None


def access_writer() -> AccessWriter | None:
    """The direct access-line writer of the current configuration (None: use the logger)."""
    return _access_writer


def configure_logging(s: ObservabilitySettings) -> LogSampler | None:
    """Configure structlog + stdlib logging once per process. Returns the sampler."""
    sampler = build_sampler(s)

    handlers: list[logging.Handler] = []
    if s.LOG_FILE:  # always JSON lines: this file is for the log shipper
        file = FileSink(s.LOG_FILE, s.LOG_FILE_MAX_BYTES, s.LOG_FILE_BACKUP_COUNT)  # opens on first line
        handlers.append(LineHandler(_formatter(s, True), file, echo=sys.stdout if s.json_logs else None))
    if not handlers or not s.json_logs:
        stdout = StdoutHandler(sys.stdout)
        stdout.setFormatter(_formatter(s, s.json_logs))
        handlers.append(stdout)
    root = logging.getLogger()
    for old in list(root.handlers):  # this kit owns the root logger's output
        root.removeHandler(old)
        if old.get_name() == _OWNED:
            old.close()
    for handler in handlers:
        handler.set_name(_OWNED)
        if sampler is not None:
            handler.addFilter(SamplingFilter(sampler))
        root.addHandler(handler)
    root.setLevel(s.LOG_LEVEL)
    global _access_writer
    _access_writer = AccessWriter(list(root.handlers), s.APP_NAME, s.APP_ENV) if s.json_logs else None

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

    # structlog's configuration is process-global (the library's design), and a logger
    # keeps a reference to the processor list on first use: a second configure_logging()
    # (tests build several apps) replaces the contents of that same list.
    chain = build_chain(sampler)
    if structlog.is_configured():
        processors = structlog.get_config()["processors"]
        processors[:] = chain
        chain = processors
    structlog.configure(
        processors=chain,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(s.LOG_LEVEL)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    return sampler
