"""Logging expected conditions: once, briefly, with a count.

A condition the service expects and answers (a dependency that is down for a while, a
refusal the docs describe) is not a bug: a traceback per occurrence would bury the log. These
filters (settings.LOGGING attaches them) let the first record of a message through and count
the same message within a minute instead; the next one let through says how many were held
back.
"""

from __future__ import annotations

import logging
import time


class OncePerMinute(logging.Filter):
    """For a logger that logs the same condition again and again (channels_redis' pub/sub
    layer logs "Unexpected exception in receive task" with its traceback every second while
    Redis is down; a database that is down fails every request). The first record of a
    message goes through; the same message from the same logger within a minute is counted
    instead, and the next one let through says how many were held back."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, held = self._seen.get(key, (-self.seconds, 0))
        if now - last < self.seconds:
            self._seen[key] = (last, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more in the last {self.seconds:.0f}s, not logged)"
        return True


class ExpectedRefusals(OncePerMinute):
    """For `django.request`: a 4xx answer is a refusal the service meant (a 403 for a user who
    may not use a dashboard form, a 404), and a 503 is the database failing for a moment
    (arenas/errors.py, logged there too): each is logged with no traceback and once a minute
    per message with a count. Other server errors go through whole, every one."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", 500)
        if status >= 500 and status != 503:
            return True
        record.exc_info = None
        record.exc_text = None
        return super().filter(record)


def error_line(error: BaseException) -> str:
    """An exception in one short line, for a log message that carries no traceback."""
    return " ".join(str(error).split())[:200] or type(error).__name__
