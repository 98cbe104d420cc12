"""Webhook subscriptions: who may subscribe to what, and their life.

People subscribe, agents do not: staff to any arena, and a person who owns agents to the
arenas those agents take part in (the arenas the dashboard shows them, `visible_to`).
`arenas` null means every arena the owner can see, now and later. What the owner can see
is decided at each delivery: a subscription delivers an arena's events while one of its
owner's agents takes part in it (staff: always), and an inactive owner's subscriptions
deliver nothing.

A subscription delivers the events appended after its creation: for an arena that existed
then, from its last event at that moment on (`start_seq`); for an arena created later, from
seq 1. Progress is kept per arena in a `WebhookCursor` (arenas/webhooks/delivery.py).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Max, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from arenas import inputs
from arenas.errors import Invalid, NotFound, PermissionDenied
from arenas.models import (
    Agent,
    Arena,
    Event,
    EventType,
    WebhookCursor,
    WebhookDisabled,
    WebhookSubscription,
)

from . import safety

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
NOT_ALLOWED = (
    "Webhooks are managed by staff, and by people who own agents (for the arenas their "
    "agents take part in)."
)


def new_secret() -> str:
    """`whsec_` and 32 random bytes in base64: the Standard Webhooks form of a secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def require_may_subscribe(user: Any) -> None:
    """PermissionDenied unless `user` is a person who may manage webhooks: an active staff
    user, or an active person who owns at least one agent. (An agent is not a person.)"""
    if not isinstance(user, AbstractBaseUser) or not user.is_active:
        raise PermissionDenied(NOT_ALLOWED)
    if not user.is_staff and not Agent.objects.filter(owner=user).exists():
        raise PermissionDenied(NOT_ALLOWED)


def create(user: Any, url: Any, arenas: Any = None, types: Any = None) -> WebhookSubscription:
    """A new active subscription of `user`; its `secret` is for the creator's eyes once."""
    require_may_subscribe(user)
    return WebhookSubscription.objects.create(
        url=safety.url(url),
        arenas=_arenas(user, arenas),
        types=_types(types),
        secret=new_secret(),
        created_by=user,
    )


def _arenas(user: Any, value: Any) -> list[str] | None:
    """null, or 1..WEBHOOK_ARENAS_MAX distinct ids of arenas `user` can see, sorted."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise Invalid.field("arenas", "A non-empty list of arena ids, or null for every arena.")
    if len(value) > inputs.WEBHOOK_ARENAS_MAX:
        raise Invalid.field("arenas", f"At most {inputs.WEBHOOK_ARENAS_MAX} arenas.")
    ids = []
    for item in value:
        try:
            ids.append(inputs.arena_id(item) if isinstance(item, str) else None)
        except NotFound:
            ids.append(None)
        if ids[-1] is None:
            raise Invalid.field("arenas", f"Not an arena id: {str(item)[:100]!r}.")
    if len(set(ids)) != len(ids):
        raise Invalid.field("arenas", "An arena is listed twice.")
    seen = set(Arena.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [str(i) for i in ids if i not in seen]
    if unknown:
        raise Invalid.field("arenas", f"No arena you can see with the id {unknown[0]}.")
    return sorted(str(i) for i in ids)


def _types(value: Any) -> list[str] | None:
    """null, or distinct event types, in the order of the event type list."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise Invalid.field("types", "A non-empty list of event types, or null for all.")
    for item in value:
        if not isinstance(item, str) or item not in EventType.values:
            raise Invalid.field("types", f"Not an event type: {str(item)[:100]!r}.")
    if len(set(value)) != len(value):
        raise Invalid.field("types", "An event type is listed twice.")
    return [t for t in EventType.values if t in value]


# --- reading and deleting: a person sees their own subscriptions, staff every one -----------


def visible(user: Any) -> QuerySet[WebhookSubscription]:
    """The subscriptions `user` manages, newest first."""
    require_may_subscribe(user)
    listed = WebhookSubscription.objects.select_related("created_by")
    if not user.is_staff:
        listed = listed.filter(created_by=user)
    return listed.order_by("-created_at", "id")


def get(user: Any, subscription_id: Any) -> WebhookSubscription:
    try:
        key = uuid.UUID(str(subscription_id))
    except ValueError:
        raise NotFound("No such webhook subscription.") from None
    found = visible(user).filter(pk=key).first()
    if found is None:
        raise NotFound("No such webhook subscription.")
    return found


def delete(user: Any, subscription_id: Any) -> None:
    """Delete a subscription and its cursors: nothing more is sent to it."""
    get(user, subscription_id).delete()


# --- what a subscription delivers ------------------------------------------------------------


def scope(subscription: WebhookSubscription) -> QuerySet[Arena]:
    """The arenas whose events the subscription delivers now: those its owner can see (none
    while the owner is inactive), narrowed to its `arenas` when it names some."""
    owner = subscription.created_by
    if not owner.is_active:
        return Arena.objects.none()
    arenas = Arena.objects.visible_to(owner)
    if subscription.arenas is not None:
        arenas = arenas.filter(pk__in=subscription.arenas)
    return arenas


def wants(subscription: WebhookSubscription, event_type: str) -> bool:
    return subscription.types is None or event_type in subscription.types


def start_seq(subscription: WebhookSubscription, arena_id: Any) -> int:
    """Where a subscription starts in an arena's log: after the last event appended before
    the subscription was created (0 for an arena created later)."""
    last = (
        Event.objects.filter(arena_id=arena_id, timestamp__lte=subscription.created_at)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return last or 0


# --- staff's levers: disable and resume ------------------------------------------------------


def disable(subscription: WebhookSubscription, reason: str, error: str = "") -> None:
    """Stop delivering (`reason`: a WebhookDisabled value); the cursors stay where they are."""
    now = timezone.now()
    subscription.active = False
    subscription.disabled_reason = reason
    subscription.disabled_at = now
    fields = ["active", "disabled_reason", "disabled_at"]
    if error:
        subscription.last_error, subscription.last_error_at = error, now
        fields += ["last_error", "last_error_at"]
    subscription.save(update_fields=fields)


def disable_by_staff(subscription: WebhookSubscription) -> None:
    if subscription.active:
        disable(subscription, WebhookDisabled.STAFF)


def resume(
    subscription: WebhookSubscription, arena_id: Any = None, from_seq: Any = None
) -> WebhookSubscription:
    """Deliver again: every cursor from where it stands, its failed attempts forgotten. With
    `arena_id` and `from_seq`, that arena's delivery starts again at event `from_seq`
    (1..its last seq + 1), delivered next, whether it was delivered before or not."""
    with transaction.atomic():
        if arena_id is not None or from_seq is not None:
            _rewind(subscription, arena_id, from_seq)
        subscription.cursors.update(attempts=0, next_attempt_at=None, last_error="")
        subscription.active = True
        subscription.disabled_reason = ""
        subscription.disabled_at = None
        subscription.save(update_fields=["active", "disabled_reason", "disabled_at"])
    return subscription


def _rewind(subscription: WebhookSubscription, arena_id: Any, from_seq: Any) -> None:
    try:
        arena_key = inputs.arena_id(arena_id)
    except NotFound:
        raise Invalid.field("arena", "Not an arena id.") from None
    arena = scope(subscription).filter(pk=arena_key).first()
    if arena is None:
        raise Invalid.field("arena", "This subscription delivers no arena with this id.")
    if isinstance(from_seq, bool) or not isinstance(from_seq, int):
        raise Invalid.field("from_seq", "Must be an integer.")
    if not 1 <= from_seq <= arena.last_seq + 1:
        raise Invalid.field("from_seq", f"Must be from 1 to {arena.last_seq + 1}.")
    cursor, _ = WebhookCursor.objects.get_or_create(subscription=subscription, arena=arena)
    cursor.seq = from_seq - 1
    cursor.save(update_fields=["seq"])


# --- how far behind ----------------------------------------------------------------------


@dataclass(frozen=True)
class Lag:
    """How far a subscription (or all of them) is behind: `events` not yet delivered (the
    largest backlog of one arena) and `since`, the append time of the oldest of them."""

    events: int
    since: datetime | None

    def seconds(self, now: datetime) -> float:
        return 0.0 if self.since is None else max(0.0, (now - self.since).total_seconds())


def behind(cursors: QuerySet[WebhookCursor]) -> QuerySet[WebhookCursor]:
    """Of `cursors`, those with events left to deliver, annotated with `backlog` (events)
    and `waiting_since` (the append time of the next one)."""
    next_event = Event.objects.filter(arena_id=OuterRef("arena_id"), seq=OuterRef("seq") + 1)
    return (
        cursors.filter(arena__last_seq__gt=F("seq"))
        .annotate(backlog=F("arena__last_seq") - F("seq"))
        .annotate(waiting_since=Subquery(next_event.values("timestamp")[:1]))
    )


def lag(cursors: QuerySet[WebhookCursor]) -> Lag:
    found = behind(cursors).order_by().aggregate(events=Max("backlog"), since=Min("waiting_since"))
    return Lag(found["events"] or 0, found["since"])


def active_cursors() -> QuerySet[WebhookCursor]:
    return WebhookCursor.objects.filter(subscription__active=True)
