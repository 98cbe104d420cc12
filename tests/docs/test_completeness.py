"""The docs are the users' contract and stand on their own: every endpoint, error code and
event type is in them, every MCP tool in docs/mcp.md, every client method in the client's
README, and no file of the repository refers to a file the repository does not hold."""

from __future__ import annotations

import inspect
import re
import subprocess
from pathlib import Path

import pytest
from django.urls import get_resolver

from aleph_client import ArenaClient
from arenas import errors
from arenas.api import errors as api_errors
from arenas.events import FIELDS

ROOT = Path(__file__).resolve().parents[2]
API = (ROOT / "docs/api.md").read_text()
LIVE = (ROOT / "docs/live.md").read_text()
MCP = (ROOT / "docs/mcp.md").read_text()
CLIENT = (ROOT / "client/README.md").read_text()


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in listed if (ROOT / name).is_file()]


def error_codes() -> set[str]:
    codes = {"server_error", "idempotency_in_progress", *api_errors.CODE_FOR_STATUS.values()}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.DomainError):
            codes.add(value.code)
    for value in vars(api_errors).values():
        if isinstance(value, type) and isinstance(getattr(value, "default_code", None), str):
            codes.add(value.default_code)
    # `conflict` is the base of the 409 codes below, never answered as itself.
    return codes - {"conflict"}


def test_every_error_code_is_explained_in_the_api_docs():
    missing = sorted(code for code in error_codes() if f"`{code}`" not in API)
    assert missing == []


def test_every_event_type_is_in_the_api_and_live_docs():
    for type_ in FIELDS:
        assert f"`{type_}`" in API + LIVE, type_
        for field in FIELDS[type_]:
            assert field in API + LIVE, (type_, field)


def api_paths() -> list[str]:
    [api] = [p for p in get_resolver().url_patterns if str(p.pattern) == "api/"]
    paths = []
    for pattern in api.url_patterns:
        path = pattern.pattern.regex.pattern.removeprefix("^").removesuffix("/?$")
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
        paths.append(path.replace("{{1,20}}", ""))
    return paths


def test_every_endpoint_is_in_the_api_docs():
    documented = re.sub(r"\{[a-z_]+\}", "{}", API)
    missing = [
        path
        for path in api_paths()
        if f"/api/{re.sub(r'{[a-z_]+}', '{}', path)}/" not in documented
    ]
    assert missing == []


def test_every_mcp_tool_is_in_the_mcp_docs():
    from arenas.mcp.tools import TOOLS

    names = list(TOOLS)
    assert names and [name for name in names if f"`{name}`" not in MCP] == []


def test_every_client_method_is_in_the_client_readme():
    public = [
        name
        for name, value in vars(ArenaClient).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]
    assert public and [name for name in public if name not in CLIENT] == []


def test_no_file_refers_to_a_contract_file_it_does_not_hold():
    offenders = [
        name
        for name in tracked_files()
        if not name.endswith((".png", ".ico", ".woff2"))
        and re.search(r"SPEC\.md|SPEC §", (ROOT / name).read_text(errors="ignore"))
        and name != "tests/docs/test_completeness.py"
    ]
    assert offenders == []


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize(
    "doc", [n for n in tracked_files() if n.endswith(".md")] if ROOT.exists() else []
)
def test_every_relative_link_of_the_docs_leads_to_a_file_of_the_repository(doc):
    text = (ROOT / doc).read_text()
    broken = [
        target
        for target in LINK.findall(text)
        if "://" not in target
        and not target.startswith("mailto:")
        and not (ROOT / doc).parent.joinpath(target).exists()
    ]
    assert broken == []
