"""The usage and budget endpoints over HTTP: exact money on the wire, the
breakdowns, budget changes by PATCH, and 409 budget_exhausted with its scope, limit and
spend."""

from __future__ import annotations

import json

import pytest

from arenas.models import Arena, InputRequest, UsageReport

from .helpers import assert_error, url


def post_json(client, path, text):
    """POST a body written by hand, so its numbers reach the server exactly as written."""
    return client.generic("POST", path, text, content_type="application/json")


@pytest.fixture
def arena(make_arena):
    return make_arena(
        status="active",
        participants=[{"agent_id": "bob", "role": "worker"}],
        budget={"cost_usd": "1.00", "per_agent_tokens": 10_000},
    )


def test_a_report_answers_the_report_and_its_event(arena, client_for):
    bob = client_for("bob")
    body = (
        '{"model": "gpt-4o", "input_tokens": 1200, "output_tokens": 300, '
        '"cost_usd": 0.012345, "step": 2}'
    )
    answer = post_json(bob, url(arena, "usage"), body)
    assert answer.status_code == 201, answer.content
    usage, event = answer.json()["usage"], answer.json()["event"]
    assert usage["cost_usd"] == "0.012345" and usage["priced"] is True and usage["step"] == 2
    assert event["type"] == "usage_reported" and event["seq"] == usage["seq"]
    assert event["totals"] == {
        "input_tokens": 1200,
        "output_tokens": 300,
        "cached_input_tokens": 0,
        "calls": 1,
        "cost_usd": "0.012345",
        "unpriced_calls": 0,
    }


def test_a_cost_as_a_string_and_a_report_priced_by_the_server(arena, client_for):
    bob = client_for("bob")
    bob.post(
        url(arena, "usage"),
        {"model": "x", "input_tokens": 1, "output_tokens": 1, "cost_usd": "2.5"},
        format="json",
    )
    priced = bob.post(
        url(arena, "usage"),
        {"model": "gpt-4o-mini", "input_tokens": 1_000_000, "output_tokens": 0},
        format="json",
    )
    assert priced.json()["usage"]["cost_usd"] == "0.150000"
    detail = bob.get(url(arena)).json()
    assert detail["aggregate"]["usage"]["cost_usd"] == "2.650000"
    assert detail["usage"]["cost_usd"] == "2.650000"
    assert [p["usage"]["calls"] for p in detail["participants"]] == [0, 2]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"model": "m", "input_tokens": -1, "output_tokens": 0}', "input_tokens"),
        ('{"model": "m", "input_tokens": 1.5, "output_tokens": 0}', "input_tokens"),
        (
            '{"model": "m", "input_tokens": 99999999999999999999, "output_tokens": 0}',
            "input_tokens",
        ),
        (
            '{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": 0.1234567}',
            "cost_usd",
        ),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": -1}', "cost_usd"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": "abc"}', "cost_usd"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": "NaN"}', "cost_usd"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": 1e400}', "cost_usd"),
        ('{"model": "a\\u0000b", "input_tokens": 1, "output_tokens": 0}', "model"),
        (json.dumps({"model": "m" * 10_000, "input_tokens": 1, "output_tokens": 0}), "model"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "step": 11}', "step"),
        ('{"model": "m", "input_tokens": 1, "output_tokens": 0, "dollars": 1}', "dollars"),
        ('{"input_tokens": 1, "output_tokens": 0}', "model"),
    ],
)
def test_bad_reports_are_invalid_with_the_field(arena, client_for, body, field):
    answer = post_json(client_for("bob"), url(arena, "usage"), body)
    assert field in assert_error(answer, 400, "invalid")["fields"]
    assert not UsageReport.objects.exists()


def test_nan_is_not_json(arena, client_for):
    body = '{"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": NaN}'
    assert_error(post_json(client_for("bob"), url(arena, "usage"), body), 400, "invalid")


def test_a_repeated_idempotency_key_records_once(arena, client_for):
    bob = client_for("bob")
    body = {"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": "0.5"}
    first = bob.post(url(arena, "usage"), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = bob.post(url(arena, "usage"), body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert UsageReport.objects.count() == 1


def test_the_breakdowns(arena, client_for):
    bob, alice = client_for("bob"), client_for("alice")
    for model, step in (("gpt-4o", 1), ("gpt-4o", 2), ("mystery", 2)):
        bob.post(
            url(arena, "usage"),
            {"model": model, "input_tokens": 10, "output_tokens": 5, "step": step},
            format="json",
        )
    alice.post(
        url(arena, "usage"),
        {"model": "gpt-4o", "input_tokens": 10, "output_tokens": 5, "cost_usd": "1"},
        format="json",
    )
    by_agent = alice.get(url(arena, "usage")).json()
    assert [(r["agent_id"], r["calls"]) for r in by_agent["results"]] == [("alice", 1), ("bob", 3)]
    by_step = alice.get(url(arena, "usage"), {"group": "step"}).json()["results"]
    assert [(r["step"], r["calls"], r["unpriced_calls"]) for r in by_step] == [(1, 1, 0), (2, 2, 1)]
    by_model = alice.get(url(arena, "usage"), {"group": "model"}).json()
    assert [(r["model"], r["calls"]) for r in by_model["results"]] == [
        ("gpt-4o", 3),
        ("mystery", 1),
    ]
    assert by_model["totals"]["calls"] == 4
    assert_error(alice.get(url(arena, "usage"), {"group": "planet"}), 400, "invalid")


def test_budget_exhausted_refuses_claims_with_scope_limit_and_spent(arena, client_for):
    bob = client_for("bob")
    bob.post(
        url(arena, "usage"),
        {"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": "1.25"},
        format="json",
    )
    refused = assert_error(
        bob.post(url(arena, "claims", "next"), {}, format="json"), 409, "budget_exhausted"
    )
    assert (refused["scope"], refused["limit"], refused["spent"]) == (
        "arena",
        "1.000000",
        "1.250000",
    )
    assert_error(
        bob.post(url(arena, "steps", "3", "claim"), {}, format="json"), 409, "budget_exhausted"
    )
    assert_error(bob.post(url(arena, "steps"), {"step": 3}, format="json"), 409, "budget_exhausted")
    state = bob.get(url(arena, "budget")).json()
    assert state["exhausted"] == ["arena"]
    assert state["remaining"] == {"cost_usd": "0.000000", "per_agent_tokens": 9999}
    assert (
        bob.post(url(arena, "messages"), {"text": "still here"}, format="json").status_code == 201
    )


def test_the_budget_request_in_the_inbox_and_raising_it(arena, client_for, staff_client):
    bob = client_for("bob")
    bob.post(
        url(arena, "usage"),
        {"model": "m", "input_tokens": 1, "output_tokens": 0, "cost_usd": "1"},
        format="json",
    )
    inbox = staff_client.get("/api/requests/", {"status": "open"}).json()["results"]
    assert [(r["kind"], r["agent_id"], r["choices"]) for r in inbox] == [
        ("budget", None, ["raise", "stop"])
    ]
    answer = staff_client.post(
        url(arena, "requests", inbox[0]["id"], "answer"),
        {"choice": "raise", "text": "3.00"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert Arena.objects.get(pk=arena).budget["cost_usd"] == "3.000000"
    assert bob.post(url(arena, "claims", "next"), {}, format="json").status_code == 201


def test_patch_replaces_the_budget(arena, client_for, staff_client):
    answer = client_for("alice").patch(url(arena), {"budget": {"tokens": 500}}, format="json")
    assert answer.status_code == 200 and answer.json()["budget"] == {"tokens": 500}
    assert_error(
        client_for("bob").patch(url(arena), {"budget": None}, format="json"),
        403,
        "permission_denied",
    )
    answer = staff_client.patch(url(arena), {"budget": None}, format="json")
    assert answer.status_code == 200 and answer.json()["budget"] is None
    bad = client_for("alice").patch(
        url(arena), {"budget": {"cost_usd": "0.0000001"}}, format="json"
    )
    assert "budget.cost_usd" in assert_error(bad, 400, "invalid")["fields"]


def test_a_budget_in_the_arena_config(make_agent, client_for):
    make_agent("alice")
    created = client_for("alice").post(
        url(),
        {"goal": "g", "total_steps": 2, "budget": {"cost_usd": 5, "per_agent_cost_usd": "1.5"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["budget"] == {"cost_usd": "5.000000", "per_agent_cost_usd": "1.500000"}
    assert InputRequest.objects.count() == 0
