"""Schemathesis against the API's own OpenAPI document on a live Daphne server.

It generates valid and invalid requests for every operation (coverage, fuzzing and
stateful phases) and fails on any 5xx and on any response whose status, content type,
headers or body the document does not describe. Arenas in each state, a second agent and
artifacts exist beforehand, and fuzz_hooks.py points most generated ids at them, so cases
reach the domain instead of stopping at 404.

Bounded by `--max-examples` (ALEPH_FUZZ_EXAMPLES, default 25 per operation); set
ALEPH_FUZZ_SEED to replay a run. The test prints the command, the number of operations and
the number of cases.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

import httpx
import pytest

from tests.support.liveserver import ROOT, LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


def _prepare(base: str, token: str) -> dict[str, list[str]]:
    """Arenas in every state, with a worker and artifacts; the ids the hooks use."""
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def call(method: str, path: str, body: dict | None = None) -> dict:
        response = client.request(method, path, json=body)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    team = [{"agent_id": "helper", "role": "worker"}, {"agent_id": "watcher", "role": "observer"}]
    arenas, artifacts = [], []
    for state in ("created", "active", "settling", "archived"):
        arena = call(
            "POST", "/api/arenas/", {"goal": "Fuzz", "total_steps": 0, "participants": team}
        )
        path = f"/api/arenas/{arena['id']}"
        if state != "created":
            call("POST", f"{path}/activate/")
            body = {"kind": "text", "title": "seed", "content": "x"}
            artifacts.append(call("POST", f"{path}/artifacts/", body)["id"])
            call("POST", f"{path}/facts/", {"content": "A seed fact", "tags": ["seed"]})
        if state in ("settling", "archived"):
            call("POST", f"{path}/settle/")
        if state == "archived":
            call("POST", f"{path}/archive/")
        arenas.append(arena["id"])
    client.close()
    return {"arenas": arenas, "artifacts": artifacts, "agents": ["fuzzer", "helper", "watcher"]}


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(live_db, tmp_path):
    token = live_db.create_agent("fuzzer")
    live_db.create_agent("helper")
    live_db.create_agent("watcher")
    server = LiveServer(
        live_db,
        redis_url=os.environ.get("REDIS_URL") or None,
        extra_env={"ALEPH_AGENT_THROTTLE_RATE": "off"},
        log_path=tmp_path / "daphne.log",
    ).start()
    try:
        ids = _prepare(server.url, token)
        report = tmp_path / "schemathesis.json"
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/api/schema/?format=json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            ",".join(CHECKS),
            "--max-examples",
            os.environ.get("ALEPH_FUZZ_EXAMPLES", "25"),
            "--request-timeout",
            "30",
            "--generation-database",
            "none",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            "--no-color",
        ]
        if os.environ.get("ALEPH_FUZZ_SEED"):
            command += ["--seed", os.environ["ALEPH_FUZZ_SEED"]]
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(ROOT / "tests" / "api" / "fuzz_hooks.py"),
            "ALEPH_FUZZ_ARENAS": ",".join(ids["arenas"]),
            "ALEPH_FUZZ_ARTIFACTS": ",".join(ids["artifacts"]),
            "ALEPH_FUZZ_AGENTS": ",".join(ids["agents"]),
        }
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=840
        )
    finally:
        server.stop()

    shown = " ".join(command).replace(token, "<token>")
    summary = json.loads(report.read_text()) if report.exists() else {}
    operations = summary.get("operations", {}).get("tested")
    cases = summary.get("test_cases", {}).get("generated")
    print(f"\nschemathesis: {shown}")
    print(f"schemathesis: {operations} operations, {cases} test cases, seed {summary.get('seed')}")
    log = (tmp_path / "daphne.log").read_text()
    statuses = Counter(re.findall(r'"[A-Z]+ /api/[^"]*" (\d{3}) ', log))
    print(f"server answered: {dict(sorted(statuses.items()))}")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert summary["failures"] == [] and summary["errors"] == []
    assert operations == summary["operations"]["total"] >= 26
    assert "Traceback" not in log
