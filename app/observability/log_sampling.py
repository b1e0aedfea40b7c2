"""Log sampling as a structlog processor (and a logging.Filter for stdlib records).

Rules, in order (rates come from settings):
  ERROR/CRITICAL          always
  request already kept    always (error or slow request, or its trace is sampled)
  DEBUG                   dropped in production
  WARNING / INFO          inside a request: kept when the request's trace-id hash is under the
                          rate (50 % / 10 %), so sampled logs and sampled traces coincide;
                          outside a request (startup, background) this stage is skipped
  same message + fields   suppressed for LOG_DEDUP_WINDOW_SECONDS (bounded LRU; access log exempt)
  INFO                    at most LOG_INFO_MAX_PER_SECOND lines per second

An event dropped inside an undecided request is held in that request's buffer (bounded);
when the request ends *kept* the middleware re-emits the buffer, so an error or slow
request keeps all its log lines. Thread-safe: one lock guards the dedup table and counter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import structlog
from opentelemetry import trace

from .context import HASH_BITS, current_request, threshold

ACCESS_LOGGER = "app.access"
PRESAMPLED = "_presampled"  # event key: the caller already asked pre_sample()
_ALWAYS = frozenset({"error", "critical", "exception", "fatal"})
_ALL = 1 << HASH_BITS


class LogSampler:
    def __init__(
        self,
        *,
        warning_rate: float,
        info_rate: float,
        info_per_second: int,
        dedup_window: float,
        dedup_max_keys: int,
        buffer_per_request: int,
        debug_enabled: bool,
        dedup_exempt: frozenset[str] = frozenset({ACCESS_LOGGER}),
        clock: Any = time.monotonic,
    ) -> None:
        self.clock = clock
        self.thresholds = {
            "warning": threshold(warning_rate),
            "warn": threshold(warning_rate),
            "info": threshold(info_rate),
        }
        self.info_per_second = info_per_second
        self.dedup_window = dedup_window
        self.dedup_max_keys = dedup_max_keys
        self.buffer_per_request = buffer_per_request
        self.debug_enabled = debug_enabled
        self.dedup_exempt = dedup_exempt
        self._seen: OrderedDict[tuple[str, str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self._window = 0
        self._count = 0
        self.dropped = 0  # for tests and the benchmark

    # -- the decision ---------------------------------------------------------------------
    def decide(self, level: str, logger: str, message: str, fields: Any = None) -> tuple[bool, bool]:
        """Return (emit, hold): hold means 'keep it if the request ends up kept'.
        The dedup key is level + logger + message + the event's own fields, so
        'user registered user_id=5' and '... user_id=6' are different messages."""
        if level in _ALWAYS:
            return True, False
        ctx = current_request()
        if ctx is not None and ctx.kept:
            return True, False
        if level == "debug" and not self.debug_enabled:
            return False, False
        if ctx is not None and ctx.hash >= self.thresholds.get(level, _ALL):
            return False, ctx.kept is None
        capped = level == "info" and self.info_per_second >= 0
        with self._lock:
            now = self.clock()
            if capped:
                second = int(now)
                if second != self._window:
                    self._window, self._count = second, 0
                if self._count >= self.info_per_second:
                    return False, ctx is not None and ctx.kept is None
            if self.dedup_window > 0 and logger not in self.dedup_exempt:
                key = (level, logger, message[:200], _fields_key(fields))
                last = self._seen.get(key)
                if last is not None and now - last < self.dedup_window:
                    return False, False
                self._seen[key] = now
                self._seen.move_to_end(key)
                if len(self._seen) > self.dedup_max_keys:
                    self._seen.popitem(last=False)
            if capped:
                self._count += 1
        return True, False

    def pre_sample(self, level: str, logger: str, message: str = "") -> bool:
        """Decide before building an event (the access log does this on every request);
        pass PRESAMPLED=True with the event so the processor does not decide twice."""
        emit, _ = self.decide(level, logger, message)
        if not emit:
            self.dropped += 1
        return emit

    def _hold(self, entry: Any) -> None:
        ctx = current_request()
        if ctx is not None and ctx.logs is not None and len(ctx.logs) < self.buffer_per_request:
            ctx.logs.append(entry)

    # -- structlog processor --------------------------------------------------------------
    def __call__(self, logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if event_dict.pop(PRESAMPLED, False):
            return event_dict
        emit, hold = self.decide(
            event_dict.get("level", method_name),
            event_dict.get("logger", ""),
            str(event_dict.get("event", "")),
            event_dict,
        )
        if emit:
            return event_dict
        self.dropped += 1
        if hold:
            event_dict["_ts"] = time.time()
            event_dict["_span"] = trace.get_current_span().get_span_context()
            self._hold(("structlog", event_dict))
        raise structlog.DropEvent

    # -- stdlib records (uvicorn, SQLAlchemy, ...) -----------------------------------------
    def filter_record(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_from_structlog", False):
            return True  # already sampled in the structlog chain
        cached = getattr(record, "_obs_emit", None)
        if cached is not None:  # the second handler asks again: same answer
            return bool(cached)
        emit, hold = self.decide(record.levelname.lower(), record.name, str(record.msg), record.args)
        record._obs_emit = emit
        if not emit:
            self.dropped += 1
            if hold:
                record._obs_span = trace.get_current_span().get_span_context()
                self._hold(("record", record))
        return emit


_NOT_FIELDS = frozenset({"event", "level", "logger", "timestamp", "_ts", "_span", PRESAMPLED})


def _fields_key(fields: Any) -> str:
    """The part of an event that makes it 'the same message': its own fields / log args."""
    if not fields:
        return ""
    if isinstance(fields, dict):
        return repr(sorted((k, v) for k, v in fields.items() if k not in _NOT_FIELDS))[:200]
    return repr(fields)[:200]


class SamplingFilter(logging.Filter):
    def __init__(self, sampler: LogSampler) -> None:
        super().__init__()
        self.sampler = sampler

    def filter(self, record: logging.LogRecord) -> bool:
        return self.sampler.filter_record(record)


def flush_held(entries: list[Any]) -> None:
    """Re-emit events held back by the sampler; call once the request is kept."""
    for kind, item in entries:
        if kind == "structlog":
            level = item.pop("level", "info")
            event = item.pop("event", "")
            name = item.pop("logger", None)
            getattr(structlog.get_logger(name), level, structlog.get_logger(name).info)(event, **item)
        else:
            item._obs_emit = None
            for handler in logging.getLogger().handlers:
                if item.levelno >= handler.level:
                    handler.handle(item)
