"""Malformed input gets a clear 400/404/405/413/415 in the error JSON, changes
nothing, and never produces a 500 or an HTML page; text round-trips verbatim."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from arenas.api import serializers
from arenas.inputs import U32_MAX
from arenas.manager import ArenaManager
from arenas.models import Arena, Event
from tests.api.helpers import OPERATIONS, assert_error, fill, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client_for):
    return client_for("alice")


def post_raw(client, path: str, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", path, body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"goal": "x",', None),
        (b"{'goal': 'x'}", None),
        (b'{"goal": NaN, "total_steps": 1}', None),
        (b'{"goal": "x", "total_steps": Infinity}', None),
        (b"\xff\xfe{}", None),
        (b'{"goal": "caf\xe9"}', None),
    ],
)
def test_a_body_that_is_not_json_is_invalid(alice, body, field):
    response = post_raw(alice, url(), body)
    assert_error(response, 400, "invalid")
    assert Arena.objects.count() == 0


@pytest.mark.parametrize("body", [b"[]", b'["goal"]', b'"goal"', b"42", b"null", b"true"])
def test_a_json_value_that_is_not_an_object_is_invalid(alice, body):
    response = post_raw(alice, url(), body)
    body = assert_error(response, 400, "invalid")
    assert "non_field_errors" in body["fields"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"],
)
def test_a_body_in_another_media_type_is_415(alice, content_type):
    response = post_raw(alice, url(), b'{"goal": "x"}', content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert Arena.objects.count() == 0


def test_a_body_without_a_content_type_is_415(alice):
    response = alice.generic("POST", url(), b'{"goal": "x"}', content_type="")
    assert_error(response, 415, "unsupported_media_type")


def test_json_with_a_charset_parameter_is_accepted(alice):
    response = post_raw(alice, url(), b'{"goal": "x"}', "application/json; charset=utf-8")
    assert response.status_code == 201


@override_settings(ALEPH_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_413(alice):
    response = alice.post(url(), {"goal": "x" * 2000}, format="json")
    body = assert_error(response, 413, "payload_too_large")
    assert "1000 bytes" in body["detail"]
    assert Arena.objects.count() == 0


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=500)
def test_djangos_own_upload_limit_is_413_too(alice):
    response = alice.post(url(), {"goal": "x" * 1000}, format="json")
    assert_error(response, 413, "payload_too_large")


@override_settings(ALEPH_MAX_BODY_BYTES=1000)
def test_a_patch_over_the_limit_is_413(alice, make_arena):
    arena_id = make_arena()
    response = alice.patch(url(arena_id), {"goal": "y" * 2000}, format="json")
    assert_error(response, 413, "payload_too_large")
    assert Arena.objects.get(pk=arena_id).goal == "Find the answer"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"goal": 5}, "goal"),
        ({"goal": ["x"]}, "goal"),
        ({"goal": ""}, "goal"),
        ({"goal": "   "}, "goal"),
        ({"goal": "x" * 4001}, "goal"),
        ({"goal": "nul\x00byte"}, "goal"),
        ({}, "goal"),
        ({"goal": "x", "total_steps": U32_MAX + 1}, "total_steps"),
        ({"goal": "x", "total_steps": -1}, "total_steps"),
        ({"goal": "x", "total_steps": 10**30}, "total_steps"),
        ({"goal": "x", "total_steps": "3"}, "total_steps"),
        ({"goal": "x", "total_steps": 3.0}, "total_steps"),
        ({"goal": "x", "total_steps": True}, "total_steps"),
        ({"goal": "x", "strategy": "chaos"}, "strategy"),
        ({"goal": "x", "colour": "red"}, "colour"),
        ({"goal": "x", "plan": [{"title": 7}]}, "plan[0].title"),
        ({"goal": "x", "plan": [{"title": "a"}, {"depends_on": [2]}]}, "plan[1].depends_on"),
        ({"goal": "x", "plan": [{"title": "a", "extra": 1}]}, "plan[0].extra"),
        ({"goal": "x", "participants": [{"agent_id": "Bob!", "role": "worker"}]}, None),
        ({"goal": "x", "participants": [{"agent_id": "ghost", "role": "worker"}]}, None),
        ({"goal": "x", "participants": [{"agent_id": "bob", "role": "king"}]}, None),
        (
            {"goal": "x", "participants": [{"agent_id": "bob", "role": "worker", "can_merge": 1}]},
            "participants[0].can_merge",
        ),
    ],
)
def test_invalid_arena_configs_are_400_naming_the_field(alice, make_agent, config, field):
    make_agent("bob")
    response = alice.post(url(), config, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["fields"], body
    if field is not None:
        assert field in body["fields"], body
    assert Arena.objects.count() == 0


def test_a_lone_surrogate_is_invalid(alice):
    response = post_raw(alice, url(), b'{"goal": "broken \\ud800 text"}')
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("step", [0, -1, U32_MAX + 1, 2**63, 10**40, 1.5, "1", None, [1]])
def test_step_numbers_outside_u32_or_not_integers_are_400(client_for, make_arena, step):
    arena_id = make_arena(status="active", total_steps=0)
    response = client_for("alice").post(url(arena_id, "steps"), {"step": step}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "step" in body["fields"]
    assert not Event.objects.filter(type="step_completed").exists()


@pytest.mark.parametrize(
    "goal",
    [
        "  padded with spaces\t\n",
        "emoji 🧪🚀 and a family 👨‍👩‍👧",
        "combining e\u0301 and a\u030a",
        "right-to-left: مرحبا بالعالم שלום",
        "quotes ' \" ; DROP TABLE arenas_arena; --",
        "<script>alert(1)</script>",
        "🧪" * 4000,
    ],
)
def test_text_round_trips_verbatim(alice, goal):
    created = alice.post(url(), {"goal": goal}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["goal"] == goal
    assert alice.get(url(created.json()["id"])).json()["goal"] == goal


def test_the_api_answers_json_whatever_accept_asks_for(alice):
    response = alice.get("/api/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def _all_paths(arena_id, artifact_id) -> list[tuple[str, str]]:
    return [
        (method, fill(t, id=arena_id, agent_id="alice", artifact_id=artifact_id))
        for method, t in OPERATIONS
    ]


@pytest.mark.parametrize("slash", [True, False])
def test_every_path_works_with_and_without_its_final_slash(client_for, make_arena, slash):
    client = client_for("alice")
    arena_id = make_arena(status="active")
    artifact = client.post(
        url(arena_id, "artifacts"), {"kind": "text", "title": "t", "content": "c"}, format="json"
    ).json()
    paths = [p for m, p in _all_paths(arena_id, artifact["id"]) if m == "get"]
    paths += ["/api/health/", "/api/schema/", "/api/docs/"]
    for path in paths:
        target = path if slash else path.rstrip("/")
        response = client.get(target)
        assert response.status_code == 200, (target, response.status_code)
    for action in ("settle", "archive"):
        target = url(arena_id, action)
        response = client.post(target if slash else target.rstrip("/"))
        assert response.status_code == 200, (target, response.content)


def test_writes_without_the_final_slash_are_applied_not_redirected(client_for, make_arena):
    client = client_for("alice")
    arena_id = make_arena(status="active", total_steps=3)
    response = client.post(url(arena_id, "steps").rstrip("/"), {"step": 1}, format="json")
    assert response.status_code == 201
    response = client.delete(url(arena_id, "participants", "alice").rstrip("/"))
    assert_error(response, 409, "last_coordinator")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path", ["/api/nowhere/", "/api/arenas/x/y/z/", "/api", "/api/arenas/a/steps/extra"]
)
def test_an_unknown_api_path_is_a_json_404(alice, path, debug):
    with override_settings(DEBUG=debug):
        response = alice.get(path)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/arenas/"),
        ("put", "/api/arenas/"),
        ("post", "/api/me/"),
        ("get", "/api/arenas/{id}/activate/"),
        ("put", "/api/arenas/{id}/"),
        ("get", "/api/arenas/{id}/progress/"),
        ("patch", "/api/arenas/{id}/steps/"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_json_405(alice, make_arena, method, path):
    arena_id = make_arena()
    response = getattr(alice, method)(path.format(id=arena_id), {}, format="json")
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"]


# The random UUID has a fixed test id: pytest-xdist needs every worker to collect the same ids.
@pytest.mark.parametrize(
    "arena_id", ["not-a-uuid", "1", pytest.param(str(uuid.uuid4()), id="random-uuid"), "%00"]
)
def test_an_arena_id_that_names_no_arena_is_404(alice, arena_id):
    assert_error(alice.get(url(arena_id)), 404, "not_found")
    response = alice.post(url(arena_id, "steps"), {"step": 1}, format="json")
    assert_error(response, 404, "not_found")


def test_an_unexpected_server_error_on_an_api_path_is_json(client_for, monkeypatch):
    client = client_for("alice")

    def broken(self, agent_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(ArenaManager, "unarchived_arena_ids", broken)
    client.raise_request_exception = False
    response = client.get("/api/me/")
    assert_error(response, 500, "server_error")


def test_a_disallowed_host_on_an_api_path_is_a_json_400():
    response = APIClient().get("/api/nowhere/", HTTP_HOST="evil.example")
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_json_nested_deeper_than_the_parser_follows_is_invalid(alice, depth):
    response = post_raw(alice, url(), "[" * depth + "]" * depth)
    assert_error(response, 400, "invalid")
    body = '{"goal": "x", "plan": ' + "[" * depth + "]" * depth + "}"
    assert_error(post_raw(alice, url(), body), 400, "invalid")


def test_structured_content_nested_too_deeply_is_invalid(client_for, make_arena):
    arena_id = make_arena(status="active")
    # Deeper than the content's limit (64) but well within what the parser follows, so the
    # answer is the field's error whatever the stack's depth when the body is parsed (nesting
    # too deep for the parser is the parse error tested above).
    content = "[" * 200 + "]" * 200
    body = '{"kind": "structured_data", "title": "deep", "content": ' + content + "}"
    response = post_raw(client_for("alice"), url(arena_id, "artifacts"), body)
    assert "content" in assert_error(response, 400, "invalid")["fields"]


SURROGATE_BODIES = [
    (url(), b'{"goal": "g", "\\ud800": 1}'),
    (url(), b'{"goal": "g", "strategy": "\\ud800"}'),
    (url(), b'{"goal": "g", "participants": [{"agent_id": "bob", "role": "\\udfff"}]}'),
    (url(), b'{"goal": "g", "plan": [{"title": "t", "\\ud800x": 1}]}'),
    ("{arena}settle/", b'{"\\ud800": true}'),
    ("{arena}artifacts/", b'{"kind": "\\ud800", "title": "t", "content": "c"}'),
    ("{arena}progress/", b'{"slot_status": "\\udc80"}'),
    ("{arena}participants/", b'{"agent_id": "bob", "role": "\\ud800"}'),
    ("{arena}steps/", b'{"step": 1, "\\ud83d": 2}'),
]


@pytest.mark.parametrize(("path", "body"), SURROGATE_BODIES)
def test_lone_surrogates_anywhere_in_a_body_are_400_not_500(alice, make_arena, path, body):
    """An error that names or echoes the input (an unknown field, a bad choice) must still
    be valid UTF-8 JSON: the lone surrogate is shown as U+FFFD."""
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    seq = Arena.objects.get(pk=arena_id).last_seq
    alice.raise_request_exception = False
    response = post_raw(alice, path.format(arena=url(arena_id)), body)
    error = assert_error(response, 400, "invalid")
    assert "\ufffd" in response.content.decode("utf-8") or error["fields"]
    assert Arena.objects.get(pk=arena_id).last_seq == seq


def test_a_lone_surrogate_in_an_idempotent_request_is_400_and_the_key_stays_free(alice):
    response = post_raw(alice, url(), b'{"goal": "g", "\\ud800": 1}')
    alice.credentials(HTTP_AUTHORIZATION=alice._credentials["HTTP_AUTHORIZATION"])
    response = alice.generic(
        "POST",
        url(),
        b'{"goal": "g", "\\ud800": 1}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert_error(response, 400, "invalid")
    again = alice.generic(
        "POST", url(), b'{"goal": "g"}', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert again.status_code == 201


STRANGER_REQUESTS = [
    ("post", "steps/", b'{"step": ', "application/json"),
    ("post", "steps/", b'{"step": 1}', "text/plain"),
    ("post", "steps/", b"[]", "application/json"),
    ("post", "steps/", b'{"step": "x"}', "application/json"),
    ("post", "messages/", b'{"text": "\\ud800"}', "application/json"),
    ("post", "settle/", b'{"extra": 1}', "application/json"),
    ("post", "artifacts/", b"\xff\xfe", "application/json"),
    ("patch", "", b'{"goal": ', "application/json"),
    ("patch", "", b'{"goal": "x"}', "application/xml"),
    ("post", "participants/", b'{"agent_id": 5}', "application/json"),
]


@pytest.mark.parametrize(("method", "tail", "body", "content_type"), STRANGER_REQUESTS)
def test_a_stranger_gets_404_whatever_is_wrong_with_the_body(
    client_for, make_arena, method, tail, body, content_type
):
    """Visibility comes before anything else: a non-participant learns nothing,
    not even that its body was malformed or of the wrong media type."""
    arena_id = make_arena(status="active")
    eve = client_for("eve")
    response = eve.generic(method.upper(), url(arena_id) + tail, body, content_type=content_type)
    assert_error(response, 404, "not_found")
    response = eve.generic(
        method.upper(),
        url(arena_id) + tail,
        body,
        content_type=content_type,
        HTTP_IDEMPOTENCY_KEY="x" * 300,
    )
    assert_error(response, 404, "not_found")


@override_settings(ALEPH_MAX_BODY_BYTES=1000)
def test_a_stranger_with_an_oversized_body_gets_404(client_for, make_arena):
    arena_id = make_arena(status="active")
    response = client_for("eve").post(
        url(arena_id, "messages"), {"text": "x" * 2000}, format="json"
    )
    assert_error(response, 404, "not_found")


def test_a_stranger_with_bad_query_parameters_gets_404(client_for, make_arena):
    arena_id = make_arena(status="active")
    eve = client_for("eve")
    for tail, params in [
        ("events/", {"after": "-1"}),
        ("steps/", {"limit": "0"}),
        ("artifacts/", {"agent": "Not An Id", "cursor": "@@"}),
        ("facts/", {"q": "", "tag": "x" * 100}),
    ]:
        assert_error(eve.get(url(arena_id) + tail, params), 404, "not_found")


@pytest.mark.parametrize("agent_id", ["%00", "a%00b", "UPPER", "-x", "x" * 65])
def test_a_malformed_agent_id_in_a_path_is_404(staff_client, client_for, agent_id):
    staff_client.raise_request_exception = False
    response = staff_client.get(f"/api/agents/{agent_id}/active-arenas/")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("value", ["\x00", "a\x00"])
def test_hostile_query_parameters_never_reach_the_database(client_for, make_arena, value):
    """Every list filter of every GET, with text no database column can hold: a 400 (or
    the filter ignored), never a 500."""
    arena_id = make_arena(status="active")
    alice = client_for("alice")
    alice.raise_request_exception = False
    params = dict.fromkeys(("status", "after", "limit", "cursor", "agent", "tag", "q"), value)
    for method, template in OPERATIONS:
        if method != "get":
            continue
        path = fill(template, id=arena_id, agent_id="alice", artifact_id=uuid.uuid4())
        response = alice.get(path, params)
        assert response.status_code < 500, (path, response.status_code)


def _drf(serializer_class, body):
    serializer = serializer_class(data=body)
    if serializer.is_valid():
        return dict(serializer.validated_data)
    return serializer.errors


def _shortcut(serializer_class, body):
    from rest_framework.exceptions import ValidationError

    try:
        return serializers.validated(serializer_class, body)
    except ValidationError as error:
        return error.detail


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o", "input_tokens": 900, "output_tokens": 80},
        {"model": "gpt-4o", "input_tokens": 9, "output_tokens": 8, "cost_usd": "0.001234"},
        {"model": "m", "input_tokens": 9, "output_tokens": 8, "cost_usd": Decimal("1.5")},
        {"model": "m", "input_tokens": 9, "output_tokens": 8, "cost_usd": None, "step": None},
        {"model": "m", "input_tokens": 9, "output_tokens": 8, "calls": 2, "step": 3},
        {"model": "m", "input_tokens": 9, "output_tokens": 8, "cached_input_tokens": 4},
        {"model": "é 🧪", "input_tokens": 0, "output_tokens": 0, "cost_usd": 0},
        {"model": "   ", "input_tokens": 1, "output_tokens": 1},
        {"model": "", "input_tokens": 1, "output_tokens": 1},
        {"model": "x" * 201, "input_tokens": 1, "output_tokens": 1},
        {"model": "a\x00b", "input_tokens": 1, "output_tokens": 1},
        {"model": "a\ud800", "input_tokens": 1, "output_tokens": 1},
        {"model": 5, "input_tokens": 1, "output_tokens": 1},
        {"model": None, "input_tokens": 1, "output_tokens": 1},
        {"model": "m", "input_tokens": True, "output_tokens": 1},
        {"model": "m", "input_tokens": -1, "output_tokens": 1},
        {"model": "m", "input_tokens": U32_MAX + 1, "output_tokens": 1},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "calls": 0},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "calls": None},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "cost_usd": "0.0000001"},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "cost_usd": "-1"},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "cost_usd": True},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "cost_usd": "abc"},
        {"model": "m", "input_tokens": 1, "output_tokens": 1, "extra": 1},
        {"model": "m", "input_tokens": 1},
        {},
    ],
)
def test_a_usage_report_body_validates_as_drf_validates_it(body):
    """The shortcut past DRF for plain bodies gives what the serializer gives."""
    assert serializers._plain_fields(serializers.UsageReportInputSerializer) is not None
    assert _shortcut(serializers.UsageReportInputSerializer, body) == _drf(
        serializers.UsageReportInputSerializer, body
    )


@pytest.mark.parametrize(
    "body",
    [
        {"cost_usd": "25", "tokens": 10**6},
        {"per_agent_cost_usd": 1, "per_agent_tokens": None, "cost_usd": None},
        {"tokens": -1},
        {"cost_usd": "1.1234567"},
        {"other": 1},
        {},
    ],
)
def test_a_budget_body_validates_as_drf_validates_it(body):
    assert _shortcut(serializers.BudgetInputSerializer, body) == _drf(
        serializers.BudgetInputSerializer, body
    )


@pytest.mark.parametrize(
    "body", [{"at": 3}, {"at": 3, "goal": "New ✓"}, {"at": 3, "goal": ""}, {"at": 0}]
)
def test_a_fork_body_validates_as_drf_validates_it(body):
    assert _shortcut(serializers.ForkRequestSerializer, body) == _drf(
        serializers.ForkRequestSerializer, body
    )


def test_a_field_with_a_validator_of_its_own_keeps_the_body_on_drf():
    assert serializers._plain_fields(serializers.NewMessageSerializer) is None
