"""Each door's lists of error codes against the catalogue of operations
(arenas/operations.py): the REST API's OpenAPI error responses, the MCP tools' advice per
code, and the Python client's table of error classes. The catalogue is checked against the
domain itself by tests/domain/test_operations.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from aleph_client import errors as client_errors
from aleph_client.api import ENDPOINTS, Api
from arenas import operations
from arenas.mcp.schemas import ADVICE
from arenas.mcp.tools import TOOLS
from tests.support.liveserver import ROOT

# 409 codes of the REST door itself, not of an operation: a request with the same
# Idempotency-Key still running.
REST_CONFLICTS = {"idempotency_in_progress"}
ARENA_PREFIX = "/api/arenas/{id}/"
# The REST operations under an arena that are not an operation of its handle.
NOT_HANDLE: set[str] = set()
# The MCP tools that are not an operation of a handle (the manager's: no arena yet, or
# every arena of the caller).
MANAGER_TOOLS = {"whoami", "list_arenas", "create_arena", "search_memory"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def rest_operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def documented_conflicts(operation: dict[str, Any]) -> list[str]:
    conflict = operation["responses"].get("409")
    if conflict is None:
        return []
    return re.findall(r"`([a-z_]+)`", conflict["description"])


REST_NAMES = sorted({name for o in operations.OPERATIONS for name in o.rest})


@pytest.mark.parametrize("name", REST_NAMES)
def test_each_rest_operation_documents_the_catalogue_s_errors(document, name):
    """The 409 codes a REST operation documents are its operations' (and the door's own),
    in the catalogue's order; every other status of their codes is documented, and 403 and
    412 only when an operation can answer them."""
    operation = rest_operations(document)[name]
    called = operations.of_rest(name)
    names = [o.name for o in called]
    documented = [c for c in documented_conflicts(operation) if c not in REST_CONFLICTS]
    assert documented == list(operations.conflicts(*names)), name
    statuses = {int(s) for s in operation["responses"]}
    declared = {operations.CODES[c] for c in operations.codes(*names)}
    assert declared <= statuses, name
    for status in (403, 412):
        assert (status in statuses) == (status in declared), (name, status)


def test_every_rest_operation_on_an_arena_is_in_the_catalogue(document):
    on_arenas = {n for n in rest_operations(document) if n.split(" ")[1].startswith(ARENA_PREFIX)}
    assert on_arenas - NOT_HANDLE == set(REST_NAMES)


def test_every_mcp_tool_on_an_arena_is_in_the_catalogue():
    named = {tool for o in operations.OPERATIONS for tool in o.mcp}
    assert named <= set(TOOLS)
    assert set(TOOLS) - MANAGER_TOOLS == named
    for name in MANAGER_TOOLS:
        assert "arena_id" not in TOOLS[name].properties


def test_the_mcp_advice_covers_exactly_the_codes_its_tools_can_raise():
    """Every code a tool can be refused with (its operations' from the catalogue, and
    `invalid` for an unknown argument) has its advice, said with the refusal and in the
    work_in_arena prompt; no advice is for a code no tool raises."""
    for tool in TOOLS.values():
        called = operations.of_tool(tool.name)
        assert set(tool.errors) == {"invalid", *operations.codes(*(o.name for o in called))}
    assert set(ADVICE) == {code for tool in TOOLS.values() for code in tool.errors}


def test_the_client_has_an_error_class_for_every_code():
    """The client raises a class of its own for each code, under the class of its status
    (every 409 is a `Conflict`)."""
    for code, status in {**operations.CODES, **operations.EVERY_OPERATION}.items():
        raised = client_errors.error_class(code, status)
        assert raised.__name__ != "ArenaError", code
        assert issubclass(raised, client_errors.error_class("", status)), code
        if status != 503:
            assert client_errors.BY_CODE[code] is raised


def test_the_client_names_every_operation_it_calls():
    for operation in operations.OPERATIONS:
        for name in operation.client:
            assert name in ENDPOINTS or hasattr(Api, name), name


def test_the_mcp_docs_name_every_code_its_tools_can_raise():
    text = (ROOT / "docs" / "mcp.md").read_text(encoding="utf-8")
    raised = {code for tool in TOOLS.values() for code in tool.errors}
    assert sorted(code for code in raised if f"`{code}`" not in text) == []
