"""The Python client (client/, `aleph_client`) against the OpenAPI document, its one source
of truth: the committed TypedDicts are what the generator makes of the document, and the
client's table of operations (method, path, result type by status, query or body fields)
matches the document's operations both ways. After a change to the API's shapes, run
`make client-types`; after a new or changed operation, change `client/aleph_client/api.py`.
"""

from __future__ import annotations

import importlib.util
import re
import typing
from types import ModuleType
from typing import Any

import pytest
from django.test import Client

from aleph_client.api import ENDPOINTS, result_names
from tests.support.liveserver import ROOT

CLIENT = ROOT / "client"
# Webhooks are managed by people (a session), not agents: the client has no door to them.
NOT_FOR_AGENTS = {"/api/schema/", "/api/docs/", "/api/webhooks/", "/api/webhooks/{webhook_id}/"}
# Pages are followed through their `next` link, which carries the cursor.
FOLLOWED = {"cursor"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def generator() -> ModuleType:
    path = CLIENT / "tools" / "generate_types.py"
    spec = importlib.util.spec_from_file_location("generate_types", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shape(path: str) -> str:
    """A path with its parameters unnamed: the client and the server name them apart."""
    return re.sub(r"{[^}]+}", "{}", path)


def documented(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), shape(path)): operation
        for path, item in document["paths"].items()
        if path not in NOT_FOR_AGENTS
        for method, operation in item.items()
    }


def client_paths(name: str) -> list[str]:
    """The endpoint's paths, one per value of a path parameter typed as a Literal."""
    endpoint = ENDPOINTS[name]
    hints = typing.get_type_hints(endpoint.__wrapped__)
    paths = [endpoint.path]
    for parameter in endpoint.path_params:
        if typing.get_origin(hints[parameter]) is typing.Literal:
            paths = [
                path.replace("{" + parameter + "}", value)
                for path in paths
                for value in typing.get_args(hints[parameter])
            ]
    return paths


def ref_name(schema: dict[str, Any] | None) -> str | None:
    return None if schema is None else schema["$ref"].rsplit("/", 1)[-1]


def documented_results(operation: dict[str, Any]) -> dict[int, str | None]:
    return {
        int(status): ref_name(answer.get("content", {}).get("application/json", {}).get("schema"))
        for status, answer in operation["responses"].items()
        if status.startswith("2")
    }


def documented_fields(document: dict[str, Any], operation: dict[str, Any], in_query: bool):
    if in_query:
        parameters = operation.get("parameters", [])
        return {p["name"] for p in parameters if p["in"] == "query"} - FOLLOWED
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is None:
        return set()
    return set(document["components"]["schemas"][ref_name(body["schema"])]["properties"])


def test_the_committed_client_types_are_generated_from_the_openapi_document(document):
    tool = generator()
    committed = (CLIENT / "aleph_client" / "types.py").read_text(encoding="utf-8")
    assert committed == tool.generate(document), (
        "client/aleph_client/types.py differs from the OpenAPI document: run `make client-types`"
    )


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_each_client_operation_is_documented_with_its_results_and_fields(document, name):
    endpoint = ENDPOINTS[name]
    operations = documented(document)
    for path in client_paths(name):
        operation = operations.get((endpoint.method, shape(path)))
        assert operation is not None, f"{name}: {endpoint.method} {path} is not in the document"
        assert documented_results(operation) == result_names(endpoint), name
        fields = documented_fields(document, operation, endpoint.in_query)
        assert set(endpoint.fields) == fields, name


def test_every_documented_operation_has_a_client_method(document):
    covered = {
        (endpoint.method, shape(path)) for name, endpoint in ENDPOINTS.items()
        for path in client_paths(name)
    }  # fmt: skip
    assert set(documented(document)) - covered == set()


def test_a_nullable_choice_is_its_enum_or_none_and_null_enum_is_no_type():
    """drf-spectacular writes a nullable choice field as `oneOf: [XEnum, NullEnum]` with
    `NullEnum` = `{"enum": [null]}`; the client types it `XEnum | None`."""
    tool = generator()
    document = {
        "components": {
            "schemas": {
                "NullEnum": {"enum": [None]},
                "StateEnum": {"enum": ["open", "closed"], "type": "string"},
                "Thing": {
                    "type": "object",
                    "properties": {
                        "state": {
                            "nullable": True,
                            "oneOf": [
                                {"$ref": "#/components/schemas/StateEnum"},
                                {"$ref": "#/components/schemas/NullEnum"},
                            ],
                        },
                        "mode": {"enum": ["a", "b", None], "nullable": True},
                        "tags": {"type": "array", "items": {"type": "string"}, "nullable": True},
                    },
                    "required": ["state", "mode", "tags"],
                },
            }
        }
    }
    text = tool.generate(document)
    assert "NullEnum" not in text
    assert 'StateEnum: TypeAlias = Literal["open", "closed"]\n' in text
    assert "    state: StateEnum | None\n" in text
    assert '    mode: Literal["a", "b"] | None\n' in text
    assert "    tags: list[str] | None\n" in text
    compile(text, "types.py", "exec")
