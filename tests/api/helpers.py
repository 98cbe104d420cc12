"""Small helpers of the REST API tests."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def url(arena_id: Any = None, *parts: str) -> str:
    """/api/arenas/[<id>/[<part>/...]]"""
    path = "/api/arenas/"
    if arena_id is not None:
        path += f"{arena_id}/"
    for part in parts:
        path += f"{part}/"
    return path


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the error JSON with this status and code; its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# Every operation of the API but health, schema and docs, which anyone may use.
OPERATIONS = [
    ("get", "/api/me/"),
    ("get", "/api/agents/{agent_id}/active-arenas/"),
    ("get", "/api/facts/"),
    ("get", "/api/requests/"),
    ("get", "/api/arenas/"),
    ("post", "/api/arenas/"),
    ("get", "/api/arenas/{id}/"),
    ("patch", "/api/arenas/{id}/"),
    ("post", "/api/arenas/{id}/activate/"),
    ("post", "/api/arenas/{id}/settle/"),
    ("post", "/api/arenas/{id}/archive/"),
    ("get", "/api/arenas/{id}/aggregate/"),
    ("get", "/api/arenas/{id}/state/"),
    ("post", "/api/arenas/{id}/fork/"),
    ("get", "/api/arenas/{id}/events/"),
    ("get", "/api/arenas/{id}/participants/"),
    ("post", "/api/arenas/{id}/participants/"),
    ("delete", "/api/arenas/{id}/participants/{agent_id}/"),
    ("get", "/api/arenas/{id}/steps/"),
    ("post", "/api/arenas/{id}/steps/"),
    ("post", "/api/arenas/{id}/steps/{step}/claim/"),
    ("get", "/api/arenas/{id}/claims/"),
    ("post", "/api/arenas/{id}/claims/next/"),
    ("post", "/api/arenas/{id}/claims/{claim_id}/renew/"),
    ("delete", "/api/arenas/{id}/claims/{claim_id}/"),
    ("post", "/api/arenas/{id}/progress/"),
    ("get", "/api/arenas/{id}/artifacts/"),
    ("post", "/api/arenas/{id}/artifacts/"),
    ("get", "/api/arenas/{id}/artifacts/{artifact_id}/"),
    ("post", "/api/arenas/{id}/merge/"),
    ("get", "/api/arenas/{id}/facts/"),
    ("post", "/api/arenas/{id}/facts/"),
    ("post", "/api/arenas/{id}/messages/"),
    ("get", "/api/arenas/{id}/usage/"),
    ("post", "/api/arenas/{id}/usage/"),
    ("get", "/api/arenas/{id}/budget/"),
    ("get", "/api/arenas/{id}/requests/"),
    ("post", "/api/arenas/{id}/requests/"),
    ("post", "/api/arenas/{id}/requests/{request_id}/answer/"),
    ("delete", "/api/arenas/{id}/requests/{request_id}/"),
]

# The webhook subscriptions: for people with a session, not for agents.
WEBHOOK_OPERATIONS = [
    ("get", "/api/webhooks/"),
    ("post", "/api/webhooks/"),
    ("get", "/api/webhooks/{webhook_id}/"),
    ("delete", "/api/webhooks/{webhook_id}/"),
]


def fill(template: str, **values: Any) -> str:
    """A path of OPERATIONS with its parameters (a step and a claim id default to 1, a
    request id to a UUID that names no request)."""
    return template.format(
        **{"step": 1, "claim_id": 1, "request_id": "00000000-0000-4000-8000-000000000000", **values}
    )
