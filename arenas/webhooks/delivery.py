"""Delivering webhooks from the log: at least once, per arena in seq order.

Each (subscription, arena) has a cursor: every event up to its `seq` was acknowledged with a
2xx (or skipped: not of the subscription's `types`). Delivery works cursor by cursor:

1. `lease_due` finds the cursors with events past their `seq` whose next attempt is due,
   and leases them to the calling process: a random `lease` token and `leased_until`, set
   in one short transaction that first locks the rows with `FOR UPDATE SKIP LOCKED` on
   PostgreSQL (so processes leasing at once take different cursors without waiting) and
   holds SQLite's database lock (its IMMEDIATE transactions). A cursor leased to a live
   process is skipped by every other one: one deliverer per subscription and arena at a time.
2. `deliver` sends the cursor's next events one by one, each only after the one before was
   acknowledged (head-of-line: an arena's events never overtake each other). Each 2xx moves
   the cursor and renews the lease, only if the lease is still this process's (a fencing
   token): a process that lost its lease stops without touching the cursor.
3. A failure records the attempt (`retries`), releases the lease, and leaves the event at
   the head of the line until its retry is due; a 410 or the last retry failing disables the
   subscription.

A process that dies mid-delivery leaves its leases to expire (`ALEPH_WEBHOOK_LEASE_SECONDS`,
which must exceed the 10 s timeout of a delivery); another process then takes the cursor
over from its `seq` and sends the unacknowledged event again. Nothing is skipped; an event
may arrive twice, with the same `webhook-id` (`<arena_id>:<seq>`), for receivers to drop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from arenas import metrics
from arenas.events import to_wire
from arenas.models import Event, WebhookCursor, WebhookDisabled, WebhookSubscription
from arenas.stream.db import in_thread

from . import retries, safety, subscriptions

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0  # one attempt, from resolving the host to the answer's last byte read
BODY_MAX = 64 * 1024  # of an answer, read at most; the rest is not read
ERROR_BODY_CHARS = 200  # of an answer's body, kept with a failure
BATCH = 100  # events read from the log at a time
ACK_EVERY = 0.1  # seconds between two moves of a cursor while it delivers
NEW_ARENAS_PER_POLL = 1000
# Arenas whose last activity is older than a subscription (by more than clock skew between
# hosts) cannot have events it delivers, and are not looked at for new cursors.
CLOCK_SKEW = timedelta(minutes=1)
USER_AGENT = "AlephArena-Webhooks/1.0"
CLIENTS_KEPT = 32


def lease_seconds() -> float:
    return float(getattr(settings, "ALEPH_WEBHOOK_LEASE_SECONDS", 30.0))


@dataclass(frozen=True)
class Lease:
    """A cursor this process may deliver, while its `token` is the cursor's lease."""

    cursor_id: int
    token: str


@dataclass(frozen=True)
class Batch:
    """What to send next for one cursor: its subscription's URL and secret, whether each
    type is wanted, and the events after the cursor's `seq`, in order."""

    url: str
    secret: str
    types: frozenset[str] | None
    seq: int
    events: list[dict[str, Any]]

    def wants(self, event: dict[str, Any]) -> bool:
        return self.types is None or event["type"] in self.types


@dataclass(frozen=True)
class Outcome:
    """One attempt: the status of the answer (None without one), the failure's sentence
    (empty for a 2xx), a delay the receiver asked for, and its metrics label."""

    status: int | None
    error: str
    retry_after: timedelta | None
    kind: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# --- the cursors, in the database (called in threads) ------------------------------------


def _due(now: datetime) -> Q:
    unleased = Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    return unleased & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def lease_due(
    limit: int, busy: frozenset[int] = frozenset(), open_new: bool = True
) -> tuple[list[Lease], bool]:
    """Lease up to `limit` cursors with events due for delivery, skipping `busy` (this
    process's own deliveries); also whether any subscription is active. `open_new` first
    opens the cursors of arenas that have none yet (`_open_cursors`): the poll does, a look
    prompted by a commit need not."""
    now = timezone.now()
    active = list(WebhookSubscription.objects.filter(active=True).select_related("created_by"))
    candidates: list[int] = []
    for subscription in active:
        arenas = subscriptions.scope(subscription)
        if open_new:
            _open_cursors(subscription, arenas)
        candidates += (
            WebhookCursor.objects.filter(
                _due(now),
                subscription=subscription,
                arena__in=arenas,
                arena__last_seq__gt=F("seq"),
            )
            .exclude(pk__in=busy)
            .order_by("id")
            .values_list("pk", flat=True)[:limit]
        )
    if not candidates:
        return [], bool(active)
    leases = []
    with transaction.atomic():
        rows = (
            WebhookCursor.objects.select_for_update(skip_locked=True)
            .filter(_due(now), pk__in=candidates)
            .order_by(F("next_attempt_at").asc(nulls_first=True), "id")
            .values_list("pk", flat=True)[:limit]
        )
        until = now + timedelta(seconds=lease_seconds())
        for cursor_id in list(rows):
            token = secrets.token_hex(8)
            WebhookCursor.objects.filter(pk=cursor_id).update(lease=token, leased_until=until)
            leases.append(Lease(cursor_id, token))
    return leases, True


def _open_cursors(subscription: WebhookSubscription, arenas: Any) -> None:
    """A cursor for each arena of the subscription that has had events since it was
    created and has none yet, starting where `subscriptions.start_seq` says."""
    new = list(
        arenas.filter(last_activity_at__gte=subscription.created_at - CLOCK_SKEW, last_seq__gt=0)
        .exclude(pk__in=WebhookCursor.objects.filter(subscription=subscription).values("arena_id"))
        .values_list("pk", flat=True)[:NEW_ARENAS_PER_POLL]
    )
    if new:
        WebhookCursor.objects.bulk_create(
            [
                WebhookCursor(
                    subscription=subscription,
                    arena_id=arena_id,
                    seq=subscriptions.start_seq(subscription, arena_id),
                )
                for arena_id in new
            ],
            ignore_conflicts=True,
        )


def next_batch(lease: Lease, done: tuple[int, bool] | None = None) -> Batch | None:
    """The cursor's next events, after recording `done` (`acknowledge`'s seq and
    delivered) when given. None when the lease is lost, the subscription no longer delivers
    (disabled, deleted), or the cursor is caught up, in which case the lease is let go."""
    if done is not None and not acknowledge(lease, *done):
        return None
    cursor = (
        WebhookCursor.objects.select_related("subscription")
        .filter(pk=lease.cursor_id, lease=lease.token, subscription__active=True)
        .first()
    )
    if cursor is None:
        release(lease)  # if it is still this process's
        return None
    events = list(
        Event.objects.filter(arena_id=cursor.arena_id, seq__gt=cursor.seq).order_by("seq")[:BATCH]
    )
    if not events:
        release(lease)
        return None
    subscription = cursor.subscription
    return Batch(
        url=subscription.url,
        secret=subscription.secret,
        types=None if subscription.types is None else frozenset(subscription.types),
        seq=cursor.seq,
        events=[to_wire(event) for event in events],
    )


def acknowledge(lease: Lease, seq: int, delivered: bool) -> bool:
    """Every event up to `seq` is done: acknowledged with a 2xx (`delivered`: at least one
    of them was sent) or skipped for its type. Renews the lease; False when it is no longer
    this process's."""
    now = timezone.now()
    changes: dict[str, Any] = {
        "seq": seq,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": "",
        "leased_until": now + timedelta(seconds=lease_seconds()),
    }
    if delivered:
        changes["last_delivered_at"] = now
    moved = WebhookCursor.objects.filter(pk=lease.cursor_id, lease=lease.token, seq__lt=seq)
    return moved.update(**changes) == 1


def fail(lease: Lease, seq: int, outcome: Outcome) -> None:
    """Event `seq` failed: count the attempt, schedule the next one (or disable the
    subscription: 410, or no retry left), and release the lease. Every event before `seq`
    is done (acknowledged, or skipped for its type)."""
    now = timezone.now()
    with transaction.atomic():
        cursor = (
            WebhookCursor.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=lease.cursor_id, lease=lease.token)
            .first()
        )
        if cursor is None:
            return
        subscription = cursor.subscription
        # The attempts counted are those of the event at the head of the line.
        failures = cursor.attempts + 1 if cursor.seq == seq - 1 else 1
        error = f"{_stamp(now)}: event {seq}, attempt {failures}: {outcome.error}"
        if outcome.status == retries.GONE:
            subscriptions.disable(subscription, WebhookDisabled.GONE, error)
        elif retries.exhausted(failures):
            subscriptions.disable(subscription, WebhookDisabled.RETRIES_EXHAUSTED, error)
        else:
            WebhookSubscription.objects.filter(pk=subscription.pk).update(
                last_error=error, last_error_at=now
            )
        cursor.seq = max(cursor.seq, seq - 1)
        cursor.attempts = failures
        cursor.next_attempt_at = now + retries.delay(failures, outcome.retry_after)
        cursor.last_error = error
        cursor.lease, cursor.leased_until = "", None
        cursor.save(
            update_fields=[
                "seq",
                "attempts",
                "next_attempt_at",
                "last_error",
                "lease",
                "leased_until",
            ]
        )


def release(lease: Lease) -> None:
    WebhookCursor.objects.filter(pk=lease.cursor_id, lease=lease.token).update(
        lease="", leased_until=None
    )


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- sending (on the event loop) -----------------------------------------------------------


def body(event: dict[str, Any]) -> bytes:
    """The request body: the event object exactly as `GET …/events/` shows it."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(secret: str, event: dict[str, Any], payload: bytes, now: datetime) -> dict:
    """The Standard Webhooks headers: `webhook-id` (stable across retries), the attempt's
    `webhook-timestamp`, and its v1 signature, made by the `standardwebhooks` library."""
    message_id = f"{event['arena_id']}:{event['seq']}"
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, payload),
    }


class Sender:
    """Sends signed events over HTTP from one event loop, keeping a connection pool per
    (checked address, host name): a connection made and verified for one name is never
    used for another."""

    def __init__(self) -> None:
        self._clients: OrderedDict[tuple[str, str, str, int], httpx.AsyncClient] = OrderedDict()

    def _client(self, target: safety.Target) -> httpx.AsyncClient:
        key = (target.scheme, target.hostname, target.address, target.port)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                timeout=TIMEOUT_SECONDS,
                follow_redirects=False,
                trust_env=False,  # no proxy from the environment: connect to the address checked
                limits=httpx.Limits(max_connections=16, keepalive_expiry=30.0),
            )
            self._clients[key] = client
            while len(self._clients) > CLIENTS_KEPT:
                _, old = self._clients.popitem(last=False)
                asyncio.get_running_loop().create_task(old.aclose())
        else:
            self._clients.move_to_end(key)
        return client

    async def send(self, url: str, secret: str, event: dict[str, Any]) -> Outcome:
        payload = body(event)
        now = datetime.now(UTC)
        headers = signed_headers(secret, event, payload, now)
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                target = await safety.resolve(url)
                headers["host"] = target.host
                stream = self._client(target).stream(
                    "POST",
                    target.url,
                    content=payload,
                    headers=headers,
                    extensions={"sni_hostname": target.hostname},
                )
                async with stream as response:
                    head = await _read_head(response)
        except TimeoutError:
            return Outcome(None, f"no answer within {TIMEOUT_SECONDS:.0f} s", None, "timeout")
        except safety.Refused as refused:
            return Outcome(None, str(refused), None, "refused")
        except httpx.HTTPError as error:
            detail = str(error) or type(error).__name__
            return Outcome(None, f"connection failed: {detail}", None, "connection_error")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(status, "", None, "success")
        retry_after = None
        if status in retries.RETRY_AFTER_STATUSES:
            retry_after = retries.parse_retry_after(response.headers.get("retry-after"), now)
        text = head.decode("utf-8", "replace")[:ERROR_BODY_CHARS]
        error = f"HTTP {status}" + (f": {text}" if text.strip() else "")
        return Outcome(status, error, retry_after, "gone" if status == retries.GONE else "failed")

    async def close(self) -> None:
        while self._clients:
            _, client = self._clients.popitem()
            await client.aclose()


async def _read_head(response: httpx.Response) -> bytes:
    """At most BODY_MAX bytes of the answer, as sent (never decompressed)."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_MAX:
            break
    return b"".join(chunks)[:BODY_MAX]


async def deliver(lease: Lease, sender: Sender) -> None:
    """Deliver the leased cursor's events in seq order until it is caught up, an attempt
    fails, or the lease is lost; the lease is let go in each case.

    The cursor is moved (and the lease renewed) at most every ACK_EVERY seconds and with
    each next batch, not after every event: a process that dies sends again at most the
    events of that moment, which at-least-once delivery allows, and a fast receiver does not
    cost a database write per event."""
    settled = False  # the lease is let go (or lost) already
    try:
        batch = await in_thread(next_batch, lease)
        while batch is not None:
            recorded = done = batch.seq
            delivered = False
            last_record = time.monotonic()
            for event in batch.events:
                if batch.wants(event):
                    outcome = await sender.send(batch.url, batch.secret, event)
                    metrics.webhook_attempt(
                        outcome.kind, event["timestamp"] if outcome.ok else None
                    )
                    if not outcome.ok:
                        settled = True
                        await in_thread(fail, lease, event["seq"], outcome)
                        return
                    delivered = True
                done = event["seq"]
                if delivered and time.monotonic() - last_record >= ACK_EVERY:
                    if not await in_thread(acknowledge, lease, done, True):
                        settled = True
                        return
                    recorded, delivered, last_record = done, False, time.monotonic()
            moved = (done, delivered) if done > recorded else None
            batch = await in_thread(next_batch, lease, moved)
        settled = True
    finally:
        if not settled:
            await in_thread(release, lease)
