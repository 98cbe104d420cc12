"""The table of operations is consistent with itself: each endpoint's return annotation
(what type checkers show the caller) is the union of its result types by status (what the
server's contract test compares with the OpenAPI document)."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest

from aleph_client import ENDPOINTS


def members(annotation: Any) -> set[Any]:
    """The types a union is made of (a type alone: itself); None as NoneType."""
    if annotation is None:
        return {type(None)}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(members(arg) for arg in typing.get_args(annotation)))
    return {annotation}


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_each_endpoint_returns_the_union_of_its_results(name):
    endpoint = ENDPOINTS[name]
    declared = typing.get_type_hints(endpoint.__wrapped__)["return"]
    assert members(declared) == set().union(*(members(r) for r in endpoint.results.values()))
