"""client/README.md's examples run as written, in a fresh virtualenv where only the client
is installed (`pip install ./client`: httpx and websockets, no Django), against a live
server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aleph_client import ArenaClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(600)]

CLIENT = Path(__file__).resolve().parents[1]


def readme_block(name: str) -> str:
    """The code block of the README marked `<!-- readme-test: name -->`."""
    text = (CLIENT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-test: {name} -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, name
    return match.group(1)


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    """The python of a new virtualenv with the client installed from this checkout."""
    venv = tmp_path_factory.mktemp("clientvenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(CLIENT)],
        check=True,
        timeout=540,
    )
    return python


def run(python: Path, code: str, **env: str) -> str:
    result = subprocess.run(
        [python, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_client_installs_without_django(fresh_python):
    installed = run(
        fresh_python, "import importlib.metadata as m; print(m.requires('aleph-arena-client'))"
    )
    assert "httpx" in installed and "websockets" in installed
    missing = subprocess.run([fresh_python, "-c", "import django"], capture_output=True)
    assert missing.returncode != 0
    assert run(fresh_python, "import aleph_client; print(aleph_client.ArenaClient.__name__)") == (
        "ArenaClient\n"
    )


def test_the_readme_quick_start_runs_against_a_live_server(fresh_python, live_server, tokens):
    token = tokens("author")["author"]

    output = run(
        fresh_python, readme_block("quick-start"), ALEPH_URL=live_server.url, ALEPH_TOKEN=token
    )

    lines = output.splitlines()
    assert lines[0] == "progress 1.0"
    assert lines[1:4] == ["1 arena_created", "2 agent_joined", "3 status_changed"]
    assert lines[-1] == "7 step_completed" and len(lines) == 1 + 7


def test_the_readme_five_line_worker_does_every_step(fresh_python, live_server, tokens):
    keys = tokens("lead", "worker")
    with ArenaClient(live_server.url, keys["lead"]) as lead:
        arena_id = lead.create_arena(
            goal="Two titled steps",
            plan=[{"title": "Gather"}, {"title": "Write", "depends_on": [1]}],
            participants=[{"agent_id": "worker", "role": "worker"}],
        )["id"]
        lead.transition(arena_id, "activate")

        output = run(
            fresh_python,
            readme_block("worker"),
            ALEPH_URL=live_server.url,
            ALEPH_TOKEN=keys["worker"],
            ARENA_ID=arena_id,
        )

        assert output.splitlines() == [
            "working on Gather",
            "working on Write",
            "completed steps [1, 2]",
        ]
        assert lead.get_aggregate(arena_id)["completed_steps"] == 2
