"""docs/api.md's walk-through, run as written (its `sh` blocks, in order, in one bash) with
curl against a live Daphne server, twice (a reader may run it again), so the documentation
cannot drift from the API. The server's address, the interpreter and the files the
walk-through keeps in /tmp (which the runs on other pytest-xdist workers would write at the
same time) are the test's own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from tests.support.liveserver import ROOT
from tests.support.tools import skip_or_fail_missing

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DOC = ROOT / "docs" / "api.md"


def walk_through(live_db, live_server, tmp_path) -> subprocess.CompletedProcess:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    script = "set -eu\n" + "\n".join(blocks)
    # The walk-through's own files first: the interpreter's path may be under /tmp too.
    script = script.replace("/tmp/", f"{tmp_path}/")
    script = script.replace("http://127.0.0.1:8000", live_server.url)
    script = script.replace(".venv/bin/python", sys.executable)
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=live_db.env(),
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize("run", ["first", "again"])
def test_the_walk_through_drives_an_arena_from_creation_to_archive(
    live_db, live_server, tmp_path, run
):
    for tool in ("bash", "curl"):
        if shutil.which(tool) is None:
            skip_or_fail_missing(f"the walk-through needs {tool}: `make curl` installs curl")
    if run == "again":
        first = walk_through(live_db, live_server, tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
    result = walk_through(live_db, live_server, tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for expected in [
        '{"status":"ok"}',
        '"agent_id":"researcher","display_name":"Research bot"',
        "HTTP/1.1 401 Unauthorized",
        "Write a two-page report on tidal energy",
        '"error":"precondition_failed"',
        '"error":"invalid_transition"',
        '"error":"step_blocked"',
        "'completed_steps': 3, 'total_steps': 3",
        "'progress': 1.0",
        "'facts_persisted': 1",
        "'artifacts_archived': 3",
        "'events_cleared': 0",
        "['MeyGen has 6 MW installed'",
        '"error":"arena_archived"',
        "writer holds step 1 with claim 5",
        '"error":"step_claimed"',
        '"holder":"writer","claim_id":5',
        "researcher holds step 2 with claim 6",
        "'claim_id': 5, ",
        "'renewed_at': '",
        "204",
        '"error":"claim_lost"',
        '{"results":[],"next":null}',
        "['step_claimed', 'step_claimed', 'step_completed', 'claim_released']",
        "['Which title should the abstract use?']",
        "'choice': 'Tidal power', 'text': 'Shorter.', 'by': 'researcher'",
        "202",
        '"error":"review_pending"',
        "True writer approved",
        '"error":"request_closed"',
        "0.042500 True",
        "'calls': 2, 'cost_usd': '0.052500', 'unpriced_calls': 0",
        '"error":"budget_exhausted"',
        '"scope":"arena","limit":"0.050000","spent":"0.052500"',
        "{'cost_usd': '0.000000'} ['arena']",
        "{'cost_usd': '0.200000'}",
        "[('gpt-4o', '0.042500'), ('house-model-7b', '0.010000')]",
        "0 ['review'] pending",
        "created | Publish a shorter abstract | True",
        "['arena_created', 'agent_joined', 'agent_joined']",
        '"error":"permission_denied","detail":"Only a coordinator may manage this arena."',
    ]:
        assert expected in out, (expected, out)


def test_the_walk_through_shows_an_error_answer_as_the_server_sent_it(live_db, live_server):
    """Its `field` helper: an answer without the field (a refusal) is printed as the
    server's JSON, and the command fails, instead of a Python traceback."""
    [setup] = [b for b in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S) if "field()" in b]
    helper = next(line for line in setup.splitlines() if line.startswith("field()"))
    script = helper + '\necho \'{"error":"not_found","detail":"Not found."}\' | field id'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == 'the server answered: {"error": "not_found", "detail": "Not found."}'
    )
    assert "Traceback" not in result.stderr
