"""The role and permission matrix through HTTP: a non-participant gets 404,
a participant without the role or permission 403 (and nothing changes), the others succeed.

The arena (`team` fixture) is active and open-ended: alice is coordinator, bob worker,
olive observer, iso a worker without `can_read_other_slots`; eve is not in it.
"""

from __future__ import annotations

from typing import Any

import pytest

from arenas.models import Arena
from tests.api.helpers import url

pytestmark = pytest.mark.django_db

OK_GET = {"alice": 200, "bob": 200, "olive": 200, "iso": 200, "eve": 404}

# (name, method, path parts, body, {agent: expected status})
MATRIX: list[tuple[str, str, tuple[str, ...], Any, dict[str, int]]] = [
    ("read arena", "get", (), None, OK_GET),
    ("aggregate", "get", ("aggregate",), None, OK_GET),
    ("events", "get", ("events",), None, OK_GET),
    ("participants", "get", ("participants",), None, OK_GET),
    ("steps", "get", ("steps",), None, OK_GET),
    ("facts", "get", ("facts",), None, OK_GET),
    ("own artifacts", "get", ("artifacts",), None, OK_GET),
    (
        "alice's artifacts",
        "get",
        ("artifacts",),
        {"agent": "alice"},
        {**OK_GET, "iso": 403},
    ),
    (
        "update goal",
        "patch",
        (),
        {"goal": "{agent} was here"},
        {"alice": 200, "bob": 403, "olive": 403, "iso": 403, "eve": 404},
    ),
    (
        "complete a step",
        "post",
        ("steps",),
        {"step": "{n}"},
        {"alice": 201, "bob": 201, "olive": 403, "iso": 201, "eve": 404},
    ),
    (
        "report progress",
        "post",
        ("progress",),
        {"current": "{agent} works"},
        {"alice": 200, "bob": 200, "olive": 403, "iso": 200, "eve": 404},
    ),
    (
        "publish an artifact",
        "post",
        ("artifacts",),
        {"kind": "text", "title": "{agent}", "content": "c"},
        {"alice": 201, "bob": 201, "olive": 403, "iso": 201, "eve": 404},
    ),
    (
        "merge",
        "post",
        ("merge",),
        {"sources": ["alice"], "title": "{agent}"},
        {"alice": 201, "bob": 403, "olive": 403, "iso": 403, "eve": 404},
    ),
    (
        "share a fact",
        "post",
        ("facts",),
        {"content": "{agent} knows"},
        {"alice": 201, "bob": 201, "olive": 403, "iso": 201, "eve": 404},
    ),
    (
        "post a message",
        "post",
        ("messages",),
        {"text": "{agent} says hi"},
        {"alice": 201, "bob": 201, "olive": 403, "iso": 201, "eve": 404},
    ),
    (
        "add a participant",
        "post",
        ("participants",),
        {"agent_id": "new-{agent}", "role": "worker"},
        {"alice": 201, "bob": 403, "olive": 403, "iso": 403, "eve": 404},
    ),
    (
        "remove another participant",
        "delete",
        ("participants", "{victim}"),
        None,
        {"bob": 403, "olive": 403, "iso": 403, "eve": 404, "alice": 204},
    ),
    (
        "settle",
        "post",
        ("settle",),
        None,
        {"bob": 403, "olive": 403, "iso": 403, "eve": 404, "alice": 200},
    ),
]


def _fill(value: Any, **names: Any) -> Any:
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if value == "{n}" else filled
    if isinstance(value, list):
        return [_fill(v, **names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, **names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("name", "method", "parts", "body", "expected"), MATRIX, ids=[row[0] for row in MATRIX]
)
def test_each_role_gets_what_the_matrix_says(team, make_agent, name, method, parts, body, expected):
    arena_id, clients = team
    clients["alice"].post(
        url(arena_id, "artifacts"), {"kind": "text", "title": "a", "content": "c"}, format="json"
    )
    for index, (agent, status) in enumerate(expected.items(), start=1):
        make_agent(f"new-{agent}")
        names = {"agent": agent, "n": index, "victim": "iso" if agent != "iso" else "bob"}
        path = url(arena_id, *(_fill(p, **names) for p in parts))
        client = clients[agent]
        before = Arena.objects.get(pk=arena_id).last_seq
        if method == "get":
            response = client.get(path, body or {})
        else:
            response = getattr(client, method)(path, _fill(body, **names), format="json")
        assert response.status_code == status, (agent, response.content)
        if status >= 400:
            assert Arena.objects.get(pk=arena_id).last_seq == before
            code = {403: "permission_denied", 404: "not_found"}[status]
            assert response.json()["error"] == code
