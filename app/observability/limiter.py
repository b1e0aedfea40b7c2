"""Cardinality guards for metric labels.

The real protection is choosing bounded label values (route templates, grouped status
codes, an HTTP method allowlist). LabelLimiter is the last resort: per label name it lets
through the first N distinct values and maps everything after that to "other".
"""

from __future__ import annotations

import threading

OTHER = "other"
UNMATCHED = "unmatched"
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STATUS_GROUPS = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def method_label(method: str) -> str:
    return method if method in ALLOWED_METHODS else OTHER


def status_group(status: int) -> str:
    return _STATUS_GROUPS.get(status // 100, "5xx")


class LabelLimiter:
    def __init__(self, max_values: int) -> None:
        self.max_values = max_values
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.overflowed: dict[str, int] = {}

    def __call__(self, label: str, value: str) -> str:
        seen = self._seen.get(label)
        if seen is not None and value in seen:  # fast path, no lock (set reads are atomic)
            return value
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if value in seen:
                return value
            if len(seen) < self.max_values:
                seen.add(value)
                return value
            self.overflowed[label] = self.overflowed.get(label, 0) + 1
            return OTHER
