"""The management commands: create_agent and verify_arenas."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from arenas import agents
from arenas.models import Agent, AgentToken, Arena, Event

ROOT = Path(__file__).resolve().parents[2]


def create_agent(*args: str) -> tuple[list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_agent", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


def verify() -> str:
    out = io.StringIO()
    call_command("verify_arenas", stdout=out)
    return out.getvalue()


def test_create_agent_prints_a_working_token_alone_on_the_last_line(db):
    get_user_model().objects.create_user("owner")
    lines, _ = create_agent("researcher", "--name", "Research bot", "--owner", "owner")
    token = lines[-1]
    assert token == token.strip() and " " not in token
    agent = agents.authenticate(token)
    assert agent is not None and agent.agent_id == "researcher"
    assert agent.display_name == "Research bot"
    assert agent.owner.username == "owner"
    stored = AgentToken.objects.get(agent=agent)
    assert stored.digest == agents.digest(token) != token
    assert token.startswith(stored.prefix) and len(stored.prefix) < 12


def test_a_second_call_issues_a_further_token_and_both_work_until_revoked(db):
    first = create_agent("researcher")[0][-1]
    lines, _ = create_agent("researcher")
    second = lines[-1]
    assert first != second
    assert Agent.objects.count() == 1
    assert (
        agents.authenticate(first).agent_id == agents.authenticate(second).agent_id == "researcher"
    )

    agents.revoke_token(AgentToken.objects.get(digest=agents.digest(first)))

    assert agents.authenticate(first) is None
    assert agents.authenticate(second).agent_id == "researcher"


def test_name_and_owner_only_apply_when_creating(db):
    create_agent("researcher", "--name", "First")
    lines, err = create_agent("researcher", "--name", "Second")
    assert "only apply when creating" in err
    assert Agent.objects.get().display_name == "First"
    assert agents.authenticate(lines[-1]) is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Not Valid"], "agent_id"),
        (["-leading-dash"], "agent_id"),
        (["x" * 65], "agent_id"),
        (["ok", "--owner", "nobody"], "No user named 'nobody'"),
        (["ok", "--name", "n" * 201], "display_name"),
    ],
)
def test_create_agent_refuses_bad_input_with_a_clear_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        create_agent(*args)
    assert not Agent.objects.exists()
    assert not AgentToken.objects.exists()


def test_create_agent_exits_non_zero_with_the_reason_on_stderr(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "create_agent", "Bad Id"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "agent_id" in result.stderr
    assert result.stdout == ""


def test_verify_arenas_passes_on_a_consistent_database(make_arena, manager):
    ids = [make_arena(status=s) for s in ("created", "active", "settling", "archived")]
    manager.handle(ids[1], "alice").complete_step(3)
    output = verify()
    assert output.strip().splitlines()[-1] == "All 4 arenas match their event logs."


def test_verify_arenas_passes_on_an_empty_database(db):
    assert "All 0 arenas match" in verify()


def test_verify_arenas_names_the_arena_whose_counter_was_corrupted(make_arena, manager):
    good = make_arena(status="active")
    bad = make_arena(status="active")
    manager.handle(bad, "alice").complete_step(1)
    Arena.objects.filter(pk=bad).update(completed_steps=7)
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("verify_arenas", stdout=out)

    assert failed.value.returncode == 1
    assert "1 of 2 arenas" in str(failed.value)
    lines = out.getvalue().splitlines()
    assert lines == [f"arena {bad}: completed_steps: stored 7, replayed 1"]
    assert str(good) not in out.getvalue()


def test_verify_arenas_reports_a_broken_log(make_arena, manager):
    arena_id = make_arena(status="active")
    manager.handle(arena_id, "alice").complete_step(1)
    Event.objects.filter(arena_id=arena_id, seq=2).delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_arenas", stdout=out)
    assert out.getvalue().startswith(f"arena {arena_id}: broken event log: event seq 3 follows 1")


def test_verify_arenas_names_every_field_that_differs(make_arena):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    Arena.objects.filter(pk=arena_id).update(status="settling", total_steps=99)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_arenas", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith(f"arena {arena_id}: ")
    assert "total_steps: stored 99, replayed 10" in line
    assert "status: stored 'settling', replayed 'active'" in line
