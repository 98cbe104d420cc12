"""The OpenAPI document and its interactive page: served to anyone, offline, and covering
every operation with its security, errors and headers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from arenas.models import EventType
from tests.api.helpers import OPERATIONS, WEBHOOK_OPERATIONS


@pytest.fixture(scope="module")
def document() -> dict:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("path", ["/api/schema/?format=json", "/api/schema?format=json"])
def test_the_schema_is_openapi_3_json_for_anyone(path):
    response = Client().get(path)
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_the_schema_is_yaml_without_format():
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_every_operation_is_documented(document):
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == {*OPERATIONS, *WEBHOOK_OPERATIONS, ("get", "/api/health/")}


@pytest.mark.parametrize(("method", "path"), WEBHOOK_OPERATIONS)
def test_webhook_operations_are_for_a_person_s_session(document, method, path):
    operation = document["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}, {"userSession": []}]
    assert {"401", "403", "429"} <= set(operation["responses"])


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_each_operation_names_its_auth_and_its_errors(document, method, path):
    operation = document["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}, {"staffSession": []}]
    for status in ("401", "429"):
        error = operation["responses"][status]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/Error"}
    assert operation["summary"]
    headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
    if method == "post":
        assert "Idempotency-Key" in headers
        assert {"400", "409", "413", "415", "422"} <= set(operation["responses"])
    if method == "patch":
        assert "If-Match" in headers
        assert "412" in operation["responses"]


def test_health_needs_no_auth(document):
    assert document["paths"]["/api/health/"]["get"].get("security", []) in ([], [{}])


def test_the_bearer_scheme_is_declared(document):
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_request_bodies_accept_only_their_fields(document):
    schemas = document["components"]["schemas"]
    for name in (
        "ArenaConfig",
        "PlanStep",
        "NewParticipant",
        "ArenaUpdate",
        "CompleteStep",
        "UsageReportInput",
        "BudgetInput",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    assert "required" not in schemas["ArenaUpdate"]
    assert set(schemas["UsageReportInput"]["required"]) == {
        "model",
        "input_tokens",
        "output_tokens",
    }


def test_every_event_type_has_its_own_schema(document):
    event = document["components"]["schemas"]["Event"]
    assert event["discriminator"]["propertyName"] == "type"
    assert len(event["oneOf"]) == len(EventType.values) == 23


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs"])
def test_the_docs_page_loads_only_assets_this_server_serves(path):
    client = Client()
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert "cdn" not in html.lower()
    assert 'url: "/api/schema"' in html
    # A way back to the dashboard, and to the document itself.
    assert '<a href="/" id="back-to-dashboard">' in html
    assert 'href="/api/schema"' in html


def test_every_body_schema_is_closed(document):
    """Request and response bodies list exactly their fields: with every API response
    checked against the document (tests/api/conftest.py), a key the code adds or drops
    without the schema fails the tests, so the wire shapes cannot drift from it."""
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, name
