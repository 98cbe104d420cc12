"""Idempotency-Key: a repeated POST is applied once and answered with the first response;
the same key with another request is 422; concurrent duplicates apply once."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from arenas import events
from arenas.api import idempotency
from arenas.api.views import ApiView
from arenas.models import Agent, Arena, Event, IdempotencyRecord
from tests.api.helpers import assert_error, bearer, url

KEY = "HTTP_IDEMPOTENCY_KEY"


def events_of(arena_id) -> int:
    return Event.objects.filter(arena_id=arena_id).count()


def post(client, path, body=None, key="key-1"):
    return client.post(path, body, format="json", **{KEY: key})


# Every POST of the API with a valid body, in an active arena where alice coordinates.
POSTS = [
    ("activate", "activate", None),
    ("steps", "steps", {"step": 1}),
    ("progress", "progress", {"current": "busy"}),
    ("artifacts", "artifacts", {"kind": "text", "title": "t", "content": "c"}),
    ("merge", "merge", {"sources": ["alice"], "title": "m"}),
    ("facts", "facts", {"content": "f"}),
    ("messages", "messages", {"text": "hi"}),
    ("participants", "participants", {"agent_id": "bob", "role": "worker"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "part", "body"), POSTS, ids=[p[0] for p in POSTS])
def test_every_post_replays_its_first_response_and_applies_once(
    make_arena, make_agent, client_for, name, part, body
):
    make_agent("bob")
    arena_id = make_arena(status="created" if name == "activate" else "active", total_steps=0)
    alice = client_for("alice")
    alice.post(
        url(arena_id, "artifacts"), {"kind": "text", "title": "a", "content": "c"}, format="json"
    )
    first = post(alice, url(arena_id, part), body)
    assert first.status_code in (200, 201), first.content
    assert "Idempotent-Replayed" not in first
    count = events_of(arena_id)
    again = post(alice, url(arena_id, part), body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert events_of(arena_id) == count


@pytest.mark.django_db
def test_creating_an_arena_twice_with_one_key_creates_one(client_for):
    alice = client_for("alice")
    first = post(alice, url(), {"goal": "Once"})
    again = post(alice, url().rstrip("/"), {"goal": "Once"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"]
    assert Arena.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=5)
    alice = client_for("alice")
    assert post(alice, url(arena_id, "steps"), {"step": 1}).status_code == 201
    response = post(alice, url(arena_id, "steps"), {"step": 2})
    assert_error(response, 422, "idempotency_key_reused")
    response = post(alice, url(arena_id, "facts"), {"step": 1})
    assert_error(response, 422, "idempotency_key_reused")
    assert Event.objects.filter(arena_id=arena_id, type="step_completed").count() == 1


@pytest.mark.django_db
def test_keys_belong_to_one_agent(make_arena, client_for):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    alice, bob = client_for("alice"), client_for("bob")
    assert post(alice, url(arena_id, "messages"), {"text": "a"}).status_code == 201
    response = post(bob, url(arena_id, "messages"), {"text": "b"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert response.json()["agent_id"] == "bob"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_of_0_or_more_than_255_characters_is_400(make_arena, client_for, key):
    arena_id = make_arena(status="active")
    response = post(client_for("alice"), url(arena_id, "messages"), {"text": "a"}, key=key)
    assert "Idempotency-Key" in assert_error(response, 400, "invalid")["fields"]
    assert not Event.objects.filter(type="message_posted").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["a\x00b", "\x00", "tab\there", "bell\x07"])
def test_a_key_with_control_characters_is_400(make_arena, client_for, key):
    """No database column can hold NUL (PostgreSQL refuses it): keys are printable."""
    arena_id = make_arena(status="active")
    response = post(client_for("alice"), url(arena_id, "messages"), {"text": "a"}, key=key)
    assert "Idempotency-Key" in assert_error(response, 400, "invalid")["fields"]
    assert not Event.objects.filter(type="message_posted").exists()


@pytest.mark.django_db
def test_a_key_of_255_characters_works(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    assert post(alice, url(arena_id, "messages"), {"text": "a"}, key="k" * 255).status_code == 201
    again = post(alice, url(arena_id, "messages"), {"text": "a"}, key="k" * 255)
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_refusal_by_the_domain_is_replayed_too(make_arena, client_for):
    arena_id = make_arena(status="created", total_steps=3)
    alice = client_for("alice")
    first = post(alice, url(arena_id, "steps"), {"step": 1})
    assert_error(first, 409, "arena_not_active")
    alice.post(url(arena_id, "activate"))
    again = post(alice, url(arena_id, "steps"), {"step": 1})
    assert_error(again, 409, "arena_not_active")
    assert again["Idempotent-Replayed"] == "true"
    assert not Event.objects.filter(type="step_completed").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"step": "one"}', "application/json"),
        (b"{oops", "application/json"),
        (b"x", "text/plain"),
    ],
)
def test_a_request_refused_before_the_domain_leaves_the_key_free(
    make_arena, client_for, body, content_type
):
    arena_id = make_arena(status="active", total_steps=3)
    alice = client_for("alice")
    refused = alice.generic("POST", url(arena_id, "steps"), body, content_type, **{KEY: "k"})
    assert refused.status_code in (400, 415)
    assert not IdempotencyRecord.objects.exists()
    fixed = post(alice, url(arena_id, "steps"), {"step": 1}, key="k")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed


@pytest.mark.django_db
def test_a_record_older_than_24_hours_no_longer_replays(make_arena, client_for):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    first = post(alice, url(arena_id, "messages"), {"text": "daily"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(alice, url(arena_id, "messages"), {"text": "daily"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["seq"] == first.json()["seq"] + 1


@pytest.mark.django_db
def test_a_marker_without_a_response_is_taken_over(make_arena, client_for):
    """A record committed without a response (what an attempt that died left behind before
    the attempt's transaction held its record) no longer blocks the key."""
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    agent = Agent.objects.get(agent_id="alice")
    body = {"text": "once"}
    request = APIRequestFactory().post(url(arena_id, "messages"), body, format="json")
    IdempotencyRecord.objects.create(
        agent=agent, key="key-1", request_hash=idempotency.fingerprint(Request(request))
    )
    response = post(alice, url(arena_id, "messages"), body)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    again = post(alice, url(arena_id, "messages"), body)
    assert again.json() == response.json() and again["Idempotent-Replayed"] == "true"
    assert Event.objects.filter(arena_id=arena_id, type="message_posted").count() == 1


@pytest.mark.django_db
def test_an_attempt_that_fails_mid_way_leaves_the_key_to_its_retry(
    make_arena, client_for, monkeypatch
):
    """The attempt's change and its record roll back together (here the event's insert fails
    after the message was accepted, as on a connection the database dropped): the retry is
    applied, once."""
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    real_append = events.append

    def failing(*args, **kwargs):
        real_append(*args, **kwargs)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(events, "append", failing)
    died = post(alice, url(arena_id, "messages"), {"text": "retried"})
    assert_error(died, 503, "unavailable")
    monkeypatch.setattr(events, "append", real_append)
    assert not IdempotencyRecord.objects.exists()

    retried = post(alice, url(arena_id, "messages"), {"text": "retried"})
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Event.objects.filter(arena_id=arena_id, type="message_posted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_still_in_progress_answers_409_after_waiting_then_its_retry_applies(
    postgres, make_arena, make_agent, monkeypatch
):
    """PostgreSQL: while another transaction holds the key's record, a request with the key
    waits `WAIT_SECONDS` for its outcome, then answers 409; once that transaction is gone
    (rolled back, as when its process dies), the request is applied."""
    arena_id = make_arena(status="active")
    _, token = make_agent("alice")
    body = {"text": "slow"}
    request = APIRequestFactory().post(url(arena_id, "messages"), body, format="json")
    request_hash = idempotency.fingerprint(Request(request))
    holding, done = threading.Event(), threading.Event()

    def other_attempt() -> None:
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    agent=Agent.objects.get(agent_id="alice"),
                    key="key-1",
                    request_hash=request_hash,
                )
                holding.set()
                done.wait(timeout=60)
                transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=other_attempt)
    thread.start()
    assert holding.wait(timeout=30)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    try:
        response = post(bearer(token), url(arena_id, "messages"), body)
        assert_error(response, 409, "idempotency_in_progress")
    finally:
        done.set()
        thread.join(timeout=30)
    applied = post(bearer(token), url(arena_id, "messages"), body)
    assert applied.status_code == 201 and "Idempotent-Replayed" not in applied
    assert Event.objects.filter(arena_id=arena_id, type="message_posted").count() == 1


@pytest.mark.django_db
def test_clear_idempotency_deletes_records_older_than_24_hours(make_arena, client_for, capsys):
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    post(alice, url(arena_id, "messages"), {"text": "old"}, key="old")
    post(alice, url(arena_id, "messages"), {"text": "new"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    call_command("clear_idempotency")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    assert "Deleted 1 idempotency record(s)" in capsys.readouterr().out


@pytest.mark.django_db
def test_staff_may_send_a_key_but_their_requests_are_not_recorded(staff_client, make_arena):
    arena_id = make_arena()
    response = staff_client.post(
        url(arena_id, "messages"), {"text": "hi"}, format="json", **{KEY: "s"}
    )
    assert response.status_code == 201
    assert not IdempotencyRecord.objects.exists()
    response = staff_client.post(
        url(arena_id, "messages"), {"text": "hi"}, format="json", **{KEY: ""}
    )
    assert_error(response, 400, "invalid")


def test_a_post_view_without_idempotency_cannot_be_declared():
    with pytest.raises(TypeError, match="@idempotent"):

        class Careless(ApiView):
            def post(self, request):
                raise AssertionError("never called")


def _run_concurrently(count: int, call) -> list:
    """`call()` in `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = call()
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def _check_applied_once(responses) -> dict:
    assert all(not isinstance(r, BaseException) for r in responses), responses
    original = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    assert len(original) == 1, [(r.status_code, r.get("Idempotent-Replayed")) for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"] == "idempotency_in_progress"
        else:
            assert response.status_code == 201
            assert response.json() == original[0].json()
    return original[0].json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_complete_a_step_once(make_arena, make_agent):
    arena_id = make_arena(status="active", total_steps=10)
    _, token = make_agent("alice")

    def call():
        return post(bearer(token), url(arena_id, "steps"), {"step": 3}, key="race")

    _check_applied_once(_run_concurrently(8, call))
    assert Event.objects.filter(arena_id=arena_id, type="step_completed").count() == 1
    assert Arena.objects.get(pk=arena_id).completed_steps == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_arena(make_agent):
    _, token = make_agent("alice")

    def call():
        return post(bearer(token), url(), {"goal": "Exactly one"}, key="create-race")

    body = _check_applied_once(_run_concurrently(8, call))
    assert list(Arena.objects.values_list("id", flat=True)) == [uuid.UUID(body["id"])]
