"""Lists page as {"results", "next"} in a stable order: following `next` visits every
item once, also while items are added; bad `limit` or `cursor` is a 400."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.helpers import assert_error, url

pytestmark = pytest.mark.django_db


def walk(client, path, **params):
    """Every item of a list by following `next`; the pages' sizes."""
    items, sizes = [], []
    response = client.get(path, params)
    while True:
        assert response.status_code == 200, response.content
        page = response.json()
        items += page["results"]
        sizes.append(len(page["results"]))
        if page["next"] is None:
            return items, sizes
        assert page["next"].startswith("http://testserver/api/")
        response = client.get(page["next"])


def test_arenas_page_newest_first_and_each_arena_once(make_arena, client_for):
    ids = [str(make_arena()) for _ in range(7)]
    items, sizes = walk(client_for("alice"), url(), limit=3)
    assert [a["id"] for a in items] == list(reversed(ids))
    assert sizes == [3, 3, 1]


def test_arenas_created_while_paging_do_not_shift_pages(make_arena, client_for):
    alice = client_for("alice")
    ids = [str(make_arena()) for _ in range(4)]
    first = alice.get(url(), {"limit": 2}).json()
    make_arena()
    make_arena()
    rest, _ = walk(alice, first["next"])
    assert [a["id"] for a in first["results"] + rest] == list(reversed(ids))


def test_a_filter_is_kept_in_the_next_link(make_arena, client_for):
    active = [str(make_arena(status="active")) for _ in range(3)]
    make_arena()
    items, _ = walk(client_for("alice"), url(), status="active", limit=1)
    assert [a["id"] for a in items] == list(reversed(active))


def test_participants_artifacts_and_facts_page_in_order(make_arena, client_for):
    names = [f"agent-{n:02d}" for n in range(5)]
    arena_id = make_arena(
        status="active", participants=[{"agent_id": n, "role": "worker"} for n in names]
    )
    alice = client_for("alice")
    people, sizes = walk(alice, url(arena_id, "participants"), limit=2)
    assert [p["agent_id"] for p in people] == sorted([*names, "alice"])
    assert sizes == [2, 2, 2]
    published = [
        alice.post(
            url(arena_id, "artifacts"),
            {"kind": "text", "title": f"a{n}", "content": "c"},
            format="json",
        ).json()["id"]
        for n in range(5)
    ]
    artifacts, _ = walk(alice, url(arena_id, "artifacts"), limit=2)
    assert [a["id"] for a in artifacts] == published
    shared = [
        alice.post(url(arena_id, "facts"), {"content": f"f{n}"}, format="json").json()["id"]
        for n in range(5)
    ]
    facts, _ = walk(alice, url(arena_id, "facts"), limit=4)
    assert [f["id"] for f in facts] == shared


def test_the_plan_pages_by_step_number(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=7)
    steps, sizes = walk(client_for("alice"), url(arena_id, "steps"), limit=3)
    assert [s["step"] for s in steps] == list(range(1, 8))
    assert sizes == [3, 3, 1]


def test_the_default_limit_is_50_and_500_is_allowed(make_arena, client_for):
    arena_id = make_arena(status="active", total_steps=600)
    alice = client_for("alice")
    assert len(alice.get(url(arena_id, "steps")).json()["results"]) == 50
    assert len(alice.get(url(arena_id, "steps"), {"limit": 500}).json()["results"]) == 500


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": -5},
        {"limit": "many"},
        {"limit": ""},
        {"cursor": "!!!"},
        {"cursor": "e30"},
        {"cursor": _cursor(["not a date", "x"])},
        {"cursor": _cursor(["2026-01-01T00:00:00+00:00", "not-a-uuid"])},
        {"cursor": _cursor([1, 2])},
        {"cursor": _cursor(["2026-01-01T00:00:00+00:00"])},
    ],
)
def test_a_bad_limit_or_cursor_is_400_naming_it(make_arena, client_for, params):
    make_arena()
    body = assert_error(client_for("alice").get(url(), params), 400, "invalid")
    assert list(body["fields"]) == list(params)
