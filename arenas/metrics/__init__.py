"""What an operator watches: every Prometheus series of the service, and the
small functions the code that does the work calls to record them.

Series are recorded only while `/metrics` is on (`ALEPH_METRICS_TOKEN` set); otherwise each
recording function returns at once. Under several server processes, `prometheus-client`'s
multi-process mode keeps each process's values in files of `PROMETHEUS_MULTIPROC_DIR`, and
a scrape of any process adds them up (arenas/metrics/exposition.py; docs/deploy.md says how
the directory is set and cleaned). Gauges that count processes' own things (open
websockets, waiting MCP calls) are summed over the live processes only.

Facts of the database (live claims, open requests, webhook lag) are not kept here: they are
read when scraped (arenas/metrics/database.py).

Labels are bounded: a route is its URL template (`/api/arenas/{id}/steps/`), never a path
with ids; an event type is one of the log's types; a model is named only when the price
table knows it. No arena, agent or user id is ever a label.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import transaction
from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
WAIT_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400)

HTTP_REQUESTS = Counter(
    "aleph_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "aleph_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_APPENDED = Counter(
    "aleph_events_appended",
    "Events appended to arena logs (counted when committed), by type.",
    ["type"],
)
LOCK_WAIT_SECONDS = Histogram(
    "aleph_arena_lock_wait_seconds",
    "Time a write waited for its arena's row lock.",
    buckets=LOCK_BUCKETS,
)
LOCK_HELD_SECONDS = Histogram(
    "aleph_arena_lock_held_seconds",
    "Time a write held its arena's row lock, from taking it to the commit.",
    buckets=LOCK_BUCKETS,
)
WEBSOCKETS_OPEN = Gauge(
    "aleph_websockets_open", "Websocket feeds open now.", multiprocess_mode="livesum"
)
MCP_WAITS = Gauge(
    "aleph_mcp_waits", "MCP wait_for_events calls waiting now.", multiprocess_mode="livesum"
)
FEED_LAG_SECONDS = Histogram(
    "aleph_live_event_lag_seconds",
    "How far live subscribers are behind the log: from an event's append to its sending "
    "on a websocket feed.",
    buckets=LAG_BUCKETS,
)
CLAIMS_EXPIRED = Counter(
    "aleph_claims_expired", "Claims whose lease lapsed (claim_expired events committed)."
)
REQUEST_WAIT_SECONDS = Histogram(
    "aleph_request_answer_wait_seconds",
    "How long answered requests for people waited for their answer.",
    buckets=WAIT_BUCKETS,
)
USAGE_TOKENS = Counter(
    "aleph_usage_tokens",
    "Tokens reported by agents, by model (`unpriced` for models the price table does not "
    "know) and kind (input, output, cached_input).",
    ["model", "kind"],
)
USAGE_COST_USD = Counter(
    "aleph_usage_cost_usd", "Cost reported or priced, in US dollars, by model.", ["model"]
)
WEBHOOK_DELIVERIES = Counter(
    "aleph_webhook_deliveries",
    "Webhook delivery attempts by outcome: success, failed (non-2xx), gone (410), timeout, "
    "connection_error, refused (an address or URL not allowed).",
    ["outcome"],
)
WEBHOOK_LAG_SECONDS = Histogram(
    "aleph_webhook_delivery_lag_seconds",
    "From an event's append to its acknowledgement (2xx) by a webhook receiver.",
    buckets=LAG_BUCKETS,
)

UNPRICED_MODEL = "unpriced"
TOKEN_KINDS = ("input", "output", "cached_input")


def enabled() -> bool:
    return bool(getattr(settings, "ALEPH_METRICS_TOKEN", ""))


def committed_at(timestamp: str) -> float:
    """A wire timestamp (`2026-11-24T10:15:02.123456Z`) in seconds since the epoch."""
    return datetime.fromisoformat(timestamp).timestamp()


def _age(timestamp: str) -> float:
    """Seconds since a wire timestamp."""
    return max(0.0, time.time() - committed_at(timestamp))


def request_served(route: str, method: str, status: int, seconds: float) -> None:
    if enabled():
        HTTP_REQUESTS.labels(route, method, str(status)).inc()
        HTTP_SECONDS.labels(route, method).observe(seconds)


def event_committed(event_type: str) -> None:
    if enabled():
        EVENTS_APPENDED.labels(event_type).inc()
        if event_type == "claim_expired":
            CLAIMS_EXPIRED.inc()


def lock_taken(asked: float) -> None:
    """A write took its arena's row lock, which it had asked for at `asked` (a
    `time.perf_counter()`); the time it holds it is recorded when its transaction commits."""
    if not enabled():
        return
    locked = time.perf_counter()
    LOCK_WAIT_SECONDS.observe(locked - asked)
    transaction.on_commit(lambda: LOCK_HELD_SECONDS.observe(time.perf_counter() - locked))


def websocket_opened() -> None:
    if enabled():
        WEBSOCKETS_OPEN.inc()


def websocket_closed() -> None:
    if enabled():
        WEBSOCKETS_OPEN.dec()


@contextmanager
def mcp_waiting() -> Iterator[None]:
    if not enabled():
        yield
        return
    MCP_WAITS.inc()
    try:
        yield
    finally:
        MCP_WAITS.dec()


def feed_sent(committed: float) -> None:
    """An event committed at `committed` (seconds since the epoch) was sent on a live feed."""
    if enabled():
        FEED_LAG_SECONDS.observe(max(0.0, time.time() - committed))


def request_answered(waited: float) -> None:
    """A request for people is answered (recorded when the answer commits)."""
    if enabled():
        transaction.on_commit(lambda: REQUEST_WAIT_SECONDS.observe(waited))


def usage_reported(
    model: str, priced: bool, input_tokens: int, output_tokens: int, cached: int, cost: float
) -> None:
    """A usage report: tokens and cost by model, a model named only when priced (the price
    table bounds the label's values; agents name models freely)."""
    if not enabled():
        return
    label = model if priced else UNPRICED_MODEL
    for kind, count in zip(TOKEN_KINDS, (input_tokens, output_tokens, cached), strict=True):
        if count:
            USAGE_TOKENS.labels(label, kind).inc(count)
    if cost:
        USAGE_COST_USD.labels(label).inc(cost)


def webhook_attempt(outcome: str, acknowledged_timestamp: str | None) -> None:
    """One webhook delivery attempt; for a 2xx, the delivered event's wire timestamp."""
    if not enabled():
        return
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    if acknowledged_timestamp is not None:
        WEBHOOK_LAG_SECONDS.observe(_age(acknowledged_timestamp))
