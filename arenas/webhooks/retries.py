"""When a failed webhook delivery is tried again.

An event whose delivery fails (a non-2xx answer, no answer within the timeout, a refused or
broken connection) is tried again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, each
delay stretched or shortened by up to JITTER at random so that receivers coming back after
an outage are not hit by every sender at once. An answer of 429 or 503 with `Retry-After`
sets the delay itself (at least 1 s, at most the longest delay of the schedule). After the
last retry fails, the subscription is disabled; a 410 Gone disables it at once.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.1
RETRY_AFTER_STATUSES = (429, 503)
RETRY_AFTER_MIN = timedelta(seconds=1)
GONE = 410


def exhausted(failures: int) -> bool:
    """Whether an event that failed `failures` times in a row has no retry left."""
    return failures > len(SCHEDULE)


def delay(failures: int, retry_after: timedelta | None = None) -> timedelta:
    """How long to wait before the next attempt of an event that failed `failures` times
    (1 after the first attempt); `retry_after` when the receiver asked for it."""
    if retry_after is not None:
        return min(max(retry_after, RETRY_AFTER_MIN), max(SCHEDULE))
    base = SCHEDULE[min(failures, len(SCHEDULE)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a delay; None when absent or
    not understood."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return timedelta(seconds=int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
