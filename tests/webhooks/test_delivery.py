"""Delivering webhooks from the log, in this process, to a real receiver that
verifies every signature with the `standardwebhooks` library: what is sent (the bare event,
the Standard Webhooks headers), from where in the log, in what order, and what happens when
the receiver fails (500, silence, 410, 429 with Retry-After, redirects, endless answers)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from arenas.events import to_wire
from arenas.models import Event, WebhookCursor, WebhookDisabled, WebhookSubscription
from arenas.webhooks import delivery, retries, subscriptions
from tests.webhooks.conftest import deliver, make_due
from tests.webhooks.receiver import Answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_receivers")]


def wire_events(arena_id, after: int = 0) -> list[dict]:
    """The arena's events exactly as GET …/events/ shows them."""
    return [
        to_wire(e) for e in Event.objects.filter(arena_id=arena_id, seq__gt=after).order_by("seq")
    ]


def complete(manager, arena_id, *steps: int, agent: str = "alice") -> None:
    handle = manager.handle(arena_id, agent)
    for step in steps:
        handle.complete_step(step)


def test_events_after_the_subscription_arrive_signed_bare_and_in_order(
    manager, make_arena, subscribe, receiver
):
    arena_id = make_arena(status="active")
    before = manager.handle(arena_id, "alice").arena().last_seq
    subscribe()
    complete(manager, arena_id, 1, 2, 3)
    deliver()

    expected = wire_events(arena_id, after=before)
    assert [e["type"] for e in expected] == ["step_completed"] * 3
    assert receiver.events(arena_id) == expected  # the bare event objects, nothing else
    for got, event in zip(receiver.received, expected, strict=True):
        assert got.verified  # standardwebhooks.Webhook(secret).verify(body, headers)
        assert got.webhook_id == f"{arena_id}:{event['seq']}"
        assert got.headers["content-type"] == "application/json"
        assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
        assert got.headers["webhook-signature"].startswith("v1,")


def test_an_arena_created_after_the_subscription_is_delivered_from_seq_1(
    make_arena, subscribe, receiver
):
    subscribe()
    arena_id = make_arena(status="active")
    deliver()
    assert receiver.seqs(arena_id) == [e["seq"] for e in wire_events(arena_id)]
    assert receiver.seqs(arena_id)[0] == 1


def test_types_and_arenas_narrow_what_is_sent(manager, make_arena, subscribe, receiver):
    wanted = make_arena(status="active")
    other = make_arena(creator="bob", status="active")
    subscribe(arenas=[str(wanted)], types=["step_completed"])
    complete(manager, wanted, 1)
    manager.handle(wanted, "alice").post_message("not wanted")
    complete(manager, wanted, 2)
    complete(manager, other, 1, agent="bob")
    deliver()
    assert [e["type"] for e in receiver.events()] == ["step_completed", "step_completed"]
    assert {e["arena_id"] for e in receiver.events()} == {str(wanted)}
    # The skipped message is behind the cursor too: nothing is left to deliver.
    cursor = WebhookCursor.objects.get(arena_id=wanted)
    assert cursor.seq == manager.handle(wanted, "alice").arena().last_seq


def test_an_owner_hears_only_arenas_its_agents_take_part_in(
    django_user_model, manager, make_agent, make_arena, subscribe, receiver
):
    owner = django_user_model.objects.create_user("olga", password="pw-olga-123")
    make_agent("helper", owner=owner)
    theirs = make_arena(status="active", participants=[{"agent_id": "helper", "role": "worker"}])
    not_theirs = make_arena(creator="bob", status="active")
    subscribe(user=owner)
    complete(manager, theirs, 1)
    complete(manager, not_theirs, 1, agent="bob")
    deliver()
    assert {e["arena_id"] for e in receiver.events()} == {str(theirs)}

    # Once its agent has left, the owner no longer sees that arena: nothing more is sent.
    sent = len(receiver.received)
    manager.handle(theirs, "helper").leave()
    complete(manager, theirs, 2)
    deliver()
    assert len(receiver.received) == sent


def test_a_failing_event_blocks_the_ones_after_it_until_a_retry_succeeds(
    manager, make_arena, subscribe, receiver
):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(500, body=b"database down")
    complete(manager, arena_id, 1, 2)
    started = timezone.now()
    deliver()
    first = wire_events(arena_id)[-2]
    assert [r.webhook_id for r in receiver.received] == [f"{arena_id}:{first['seq']}"]
    cursor = WebhookCursor.objects.get(subscription=subscription)
    assert cursor.seq == first["seq"] - 1 and cursor.attempts == 1
    wait = (cursor.next_attempt_at - started).total_seconds()
    assert 5 * (1 - retries.JITTER) - 1 <= wait <= 5 * (1 + retries.JITTER) + 1
    assert "HTTP 500: database down" in cursor.last_error
    assert "HTTP 500" in WebhookSubscription.objects.get().last_error

    deliver()  # not due yet: nothing is sent
    assert len(receiver.received) == 1

    receiver.answer = lambda got: Answer(204)
    make_due(subscription)
    deliver()
    ids = [r.webhook_id for r in receiver.received]
    assert ids[0] == ids[1]  # the retry carries the same webhook-id
    assert receiver.seqs(arena_id) == [first["seq"], first["seq"], first["seq"] + 1]
    cursor.refresh_from_db()
    assert cursor.attempts == 0 and cursor.last_error == ""


def test_no_answer_within_the_timeout_is_a_failed_attempt(
    monkeypatch, manager, make_arena, subscribe, receiver
):
    monkeypatch.setattr(delivery, "TIMEOUT_SECONDS", 0.5)
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(200, delay=3.0)
    complete(manager, arena_id, 1)
    started = time.monotonic()
    deliver()
    assert time.monotonic() - started < 2.5
    cursor = WebhookCursor.objects.get(subscription=subscription)
    assert cursor.attempts == 1 and "no answer within" in cursor.last_error


def test_410_gone_disables_the_subscription_at_once(manager, make_arena, subscribe, receiver):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(410)
    complete(manager, arena_id, 1, 2)
    deliver()
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_reason == WebhookDisabled.GONE
    assert len(receiver.received) == 1
    make_due(subscription)
    deliver()
    assert len(receiver.received) == 1  # a disabled subscription sends nothing


def test_429_retry_after_sets_the_delay(manager, make_arena, subscribe, receiver):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(429, headers={"Retry-After": "120"})
    complete(manager, arena_id, 1)
    started = timezone.now()
    deliver()
    cursor = WebhookCursor.objects.get(subscription=subscription)
    wait = (cursor.next_attempt_at - started).total_seconds()
    assert 119 <= wait <= 122
    assert subscription.active


def test_the_last_retry_failing_disables_the_subscription(manager, make_arena, subscribe, receiver):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(503)
    complete(manager, arena_id, 1)
    for attempt in range(1, len(retries.SCHEDULE) + 2):
        make_due(subscription)
        deliver()
        subscription.refresh_from_db()
        assert WebhookCursor.objects.get().attempts == attempt
        assert subscription.active == (attempt <= len(retries.SCHEDULE))
    assert subscription.disabled_reason == WebhookDisabled.RETRIES_EXHAUSTED
    assert len(receiver.received) == len(retries.SCHEDULE) + 1


def test_redirects_are_not_followed(manager, make_arena, subscribe, receiver):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    receiver.answer = lambda got: Answer(307, headers={"Location": receiver.url + "/elsewhere"})
    complete(manager, arena_id, 1)
    deliver()
    assert len(receiver.received) == 1
    assert "HTTP 307" in WebhookCursor.objects.get(subscription=subscription).last_error


def test_at_most_64_kib_of_an_answer_is_read(manager, make_arena, subscribe, receiver):
    arena_id = make_arena(status="active")
    subscribe(arenas=[str(arena_id)])
    # A 2xx whose body is far larger than anyone needs: delivery reads 64 KiB and moves on.
    receiver.answer = lambda got: Answer(200, body=b"x" * (8 * 1024 * 1024))
    complete(manager, arena_id, 1, 2)
    deliver()
    assert receiver.seqs(arena_id)[-2:] == [e["seq"] for e in wire_events(arena_id)][-2:]


def test_private_addresses_are_refused_unless_allowed(
    settings, manager, make_arena, subscribe, receiver
):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = False
    complete(manager, arena_id, 1)
    deliver()
    assert receiver.received == []
    cursor = WebhookCursor.objects.get(subscription=subscription)
    assert "127.0.0.1" in cursor.last_error and "not a public address" in cursor.last_error


def test_resume_from_a_chosen_seq_sends_those_events_again(
    manager, make_arena, subscribe, receiver
):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    complete(manager, arena_id, 1, 2)
    deliver()
    last = manager.handle(arena_id, "alice").arena().last_seq
    subscriptions.disable_by_staff(subscription)
    subscriptions.resume(subscription, str(arena_id), 2)
    deliver()
    assert receiver.seqs(arena_id)[-last + 1 :] == list(range(2, last + 1))


def test_a_lease_is_one_process_s_until_it_lapses(
    settings, manager, make_arena, subscribe, receiver
):
    arena_id = make_arena(status="active")
    subscription = subscribe(arenas=[str(arena_id)])
    complete(manager, arena_id, 1)
    first, active = delivery.lease_due(8)
    assert active and len(first) == 1
    assert delivery.lease_due(8) == ([], True)  # leased: no other process gets it
    # It lapses (its process died): another process takes it over; the first is fenced out.
    WebhookCursor.objects.filter(subscription=subscription).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    second, _ = delivery.lease_due(8)
    assert len(second) == 1 and second[0].token != first[0].token
    assert delivery.next_batch(first[0]) is None
    assert not delivery.acknowledge(first[0], 5, True)
    assert delivery.next_batch(second[0]) is not None
