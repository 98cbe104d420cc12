"""The state at a seq: at last_seq it equals the live state field for field, and at every
seq it equals an independent fold of events 1..seq, over randomized histories (both
databases: the suite runs on PostgreSQL when DATABASE_URL names one)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from arenas import lifecycle, work
from arenas.errors import Invalid, NotFound
from arenas.events import to_wire
from arenas.history import state as history_state
from arenas.manager import ArenaManager
from arenas.models import (
    Arena,
    Artifact,
    Claim,
    Event,
    Fact,
    InputRequest,
    Participant,
    Step,
)
from arenas.permissions import ROLE_DEFAULTS
from arenas.representations import (
    artifact_dict,
    claim_dict,
    fact_dict,
    participant_dict,
    request_dict,
)
from arenas.usage import Totals
from arenas.usage import replay as usage_replay

from .histories import random_history

pytestmark = pytest.mark.django_db(transaction=False)
SEEDS = range(8)


def live_state(arena_id: Any) -> dict[str, Any]:
    """The arena now, from its rows (what GET /api/arenas/{id}/, /steps/, /claims/,
    /requests/, /artifacts/ and /facts/ show), in the shape of the state."""
    staff = ArenaManager().staff_handle(arena_id, "root")
    detail = staff.detail()
    arena = Arena.objects.get(pk=arena_id)
    arena_part = {k: v for k, v in detail.items() if k not in ("participants", "you")}
    everyone = Participant.objects.filter(arena_id=arena_id).select_related("agent")
    participants = [
        {k: v for k, v in participant_dict(p).items() if k not in ("last_seen_at", "presence")}
        for p in sorted(everyone, key=lambda p: p.agent_id)
    ]
    steps, after = [], 0
    while after is not None:
        page, after = work.page(arena, after, 500)
        steps.extend(page)
    if not Step.objects.filter(arena_id=arena_id).exists():
        steps = [s for s in steps if s["completed"] or s["claim"] is not None]
    live = Claim.objects.within_lease().filter(arena_id=arena_id).order_by("step")
    opened = InputRequest.objects.filter(arena_id=arena_id, status="open")
    return {
        "at": arena.last_seq,
        "arena": arena_part,
        "participants": participants,
        "plan": steps,
        "claims": [{k: v for k, v in claim_dict(c).items() if k != "renewed_at"} for c in live],
        "requests": [request_dict(r) for r in opened.order_by("-created_at", "id")],
        "artifacts": [
            artifact_dict(a, with_content=False)
            for a in Artifact.objects.filter(arena_id=arena_id).order_by("created_at", "id")
        ],
        "facts": [
            fact_dict(f)
            for f in Fact.objects.filter(arena_id=arena_id).order_by("created_at", "id")
        ],
    }


def naive_state(arena_id: Any, seq: int) -> dict[str, Any]:
    """The state after event `seq`, replayed from the wire events 1..seq one by one
    with plain dicts (written apart from arenas/history/fold.py on purpose)."""
    arena = Arena.objects.get(pk=arena_id)
    wire = [
        to_wire(e) for e in Event.objects.filter(arena_id=arena_id, seq__lte=seq).order_by("seq")
    ]
    a: dict[str, Any] = {"forks": [], "completed_steps": 0, "settle_report": None}
    ledger = usage_replay((e["type"], e) for e in wire)
    times = {"activated_at": None, "settling_at": None, "archived_at": None}
    people: dict[str, dict[str, Any]] = {}
    done: dict[int, tuple[str, str]] = {}
    held: dict[int, dict[str, Any]] = {}
    requests: dict[str, dict[str, Any]] = {}
    reviews: dict[int, str] = {}
    artifacts: list[str] = []
    facts: list[str] = []
    for e in wire:
        t = e["type"]
        if t == "arena_created":
            a.update(
                goal=e["goal"],
                status="created",
                strategy=e["strategy"],
                total_steps=e["total_steps"],
                created_by=e["created_by"],
                forked_from=e["forked_from"],
            )
        elif t == "goal_updated":
            a["goal"] = e["new_goal"]
        elif t == "status_changed":
            a["status"] = e["to_status"]
            times[
                {"active": "activated_at", "settling": "settling_at", "archived": "archived_at"}[
                    e["to_status"]
                ]
            ] = e["timestamp"]
        elif t == "arena_settled":
            a["settle_report"] = {
                k: e[k] for k in ("facts_persisted", "artifacts_archived", "events_cleared")
            }
        elif t == "arena_forked":
            a["forks"].append({"arena_id": e["fork_id"], "at": e["at"]})
        elif t == "agent_joined":
            people[e["agent_id"]] = {
                "agent_id": e["agent_id"],
                "role": e["role"],
                "permissions": e.get("permissions", ROLE_DEFAULTS[e["role"]]),
                "slot_status": "idle",
                "current": "",
                "joined_at": e["timestamp"],
                "left_at": None,
            }
        elif t == "agent_left":
            people[e["agent_id"]]["left_at"] = e["timestamp"]
        elif t == "progress_updated":
            people[e["agent_id"]].update(current=e["current"], slot_status=e["slot_status"])
        elif t in ("artifact_published", "artifacts_merged"):
            artifacts.append(e["artifact_id"])
            if e["agent_id"] in people and people[e["agent_id"]]["left_at"] is None:
                people[e["agent_id"]]["slot_status"] = "working"
        elif t == "fact_shared":
            facts.append(e["fact_id"])
        elif t == "step_completed":
            a["completed_steps"] += 1
            done[e["step"]] = (e["agent_id"], e["timestamp"])
            held.pop(e["step"], None)
        elif t == "step_claimed":
            held[e["step"]] = {
                "claim_id": e["claim_id"],
                "arena_id": str(arena_id),
                "step": e["step"],
                "agent_id": e["agent_id"],
                "claimed_at": e["timestamp"],
                "expires_at": e["expires_at"],
            }
        elif t in ("claim_released", "claim_expired"):
            held.pop(e["step"], None)
        elif t == "input_requested":
            requests[e["request_id"]] = {
                "id": e["request_id"],
                "arena_id": str(arena_id),
                "kind": e["kind"],
                "agent_id": e["agent_id"],
                "text": e["text"],
                "choices": e["choices"],
                "step": e["step"],
                "status": "open",
                "answer": None,
                "created_at": e["timestamp"],
            }
            if e["kind"] == "review":
                reviews[e["step"]] = "pending"
                held.pop(e["step"], None)
        elif t in ("input_provided", "input_cancelled"):
            closed = requests.pop(e["request_id"])
            if closed["kind"] == "review":
                approved = t == "input_provided" and e["choice"] == "approve"
                if approved:
                    reviews[closed["step"]] = "approved"
                elif reviews.get(closed["step"]) == "pending":
                    reviews[closed["step"]] = "required"
    current = sorted(p for p, v in people.items() if v["left_at"] is None)
    titled = {s.number: s for s in Step.objects.filter(arena_id=arena_id)}
    total = a["total_steps"]
    numbers = range(1, total + 1) if titled else sorted(set(done) | set(held))
    steps = []
    for n in numbers:
        s = titled.get(n)
        deps = set(s.depends_on if s else [])
        if total and a["strategy"] == "pipeline" and n > 1:
            deps.add(n - 1)
        claim = held.get(n)
        steps.append(
            {
                "step": n,
                "title": s.title if s else "",
                "assignee": s.assignee_id if s else None,
                "depends_on": sorted(deps),
                "completed": n in done,
                "completed_by": done[n][0] if n in done else None,
                "completed_at": done[n][1] if n in done else None,
                "claim": None
                if claim is None
                else {k: claim[k] for k in ("claim_id", "agent_id", "expires_at")},
                "review": (reviews.get(n, "required") if s.review else None) if s else None,
            }
        )
    arena_part = {
        "id": str(arena_id),
        "goal": a["goal"],
        "status": a["status"],
        "strategy": a["strategy"],
        "total_steps": total,
        "completed_steps": a["completed_steps"],
        "created_by": a["created_by"],
        "created_at": to_wire_time(arena.created_at),
        **times,
        "last_seq": seq,
        "settle_report": a["settle_report"],
        "lease_seconds": arena.lease_seconds,
        "budget": ledger.budget,
        "usage": ledger.arena.wire(),
        "forked_from": a["forked_from"],
        "forks": a["forks"],
        "aggregate": {
            "completed_steps": a["completed_steps"],
            "total_steps": total,
            "participants": current,
            "progress": a["completed_steps"] / total if total else 0.0,
            "status": a["status"],
            "last_seq": seq,
            "usage": ledger.arena.wire(),
        },
        "allowed_transitions": lifecycle.allowed_transitions(a["status"]),
    }
    for agent_id, person in people.items():
        person["usage"] = ledger.agents.get(agent_id, Totals()).wire()
    arts = sorted(Artifact.objects.filter(pk__in=artifacts), key=lambda x: (x.created_at, x.id))
    fs = sorted(Fact.objects.filter(pk__in=facts), key=lambda x: (x.created_at, x.id))
    return {
        "at": seq,
        "timestamp": wire[-1]["timestamp"],
        "arena": arena_part,
        "participants": [people[p] for p in sorted(people)],
        "plan": steps,
        "claims": sorted(held.values(), key=lambda c: c["step"]),
        "requests": sorted(
            sorted(requests.values(), key=lambda r: r["id"]),
            key=lambda r: r["created_at"],
            reverse=True,
        ),
        "artifacts": [artifact_dict(x, with_content=False) for x in arts],
        "facts": [{**fact_dict(f), "settled_at": times["archived_at"]} for f in fs],
    }


def to_wire_time(value) -> str:
    from arenas.events import timestamp

    return timestamp(value)


def state(arena_id: Any, at: int | None = None) -> dict[str, Any]:
    return history_state.wire(history_state.at(arena_id, at), None)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_state_at_last_seq_is_the_live_state(make_agent, seed):
    arena_id = random_history(make_agent, seed)
    folded = state(arena_id)
    live = live_state(arena_id)
    assert (
        folded.pop("timestamp")
        == to_wire(Event.objects.get(arena_id=arena_id, seq=folded["at"]))["timestamp"]
    )
    for key in live:
        assert folded[key] == live[key], key
    assert set(folded) == set(live)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_state_at_every_seq_is_the_fold_of_the_events_up_to_it(make_agent, seed):
    arena_id = random_history(make_agent, seed, writes=45)
    last = Arena.objects.get(pk=arena_id).last_seq
    for seq in range(1, last + 1):
        got, expected = state(arena_id, seq), naive_state(arena_id, seq)
        for key in expected:
            assert got[key] == expected[key], (seq, key)


def test_the_histories_hold_every_kind_of_event(make_agent):
    seen = set()
    for seed in SEEDS:
        arena_id = random_history(make_agent, seed)
        seen |= set(Event.objects.filter(arena_id=arena_id).values_list("type", flat=True))
    expected = {
        "arena_created",
        "agent_joined",
        "agent_left",
        "step_completed",
        "goal_updated",
        "status_changed",
        "progress_updated",
        "artifact_published",
        "artifacts_merged",
        "fact_shared",
        "message_posted",
        "arena_settled",
        "step_claimed",
        "claim_released",
        "claim_expired",
        "input_requested",
        "input_provided",
        "input_cancelled",
        "usage_reported",
        "budget_changed",
        "budget_warning",
        "budget_exhausted",
    }
    assert expected <= seen
    budget_requests = InputRequest.objects.filter(kind="budget", status="answered")
    assert budget_requests.exists(), "a budget request answered"


def test_the_state_reads_a_fixed_number_of_queries_whatever_the_log(make_agent):
    small = random_history(make_agent, 0, writes=10)
    large = random_history(make_agent, 4, writes=120)
    counts = []
    for arena_id in (small, large):
        with CaptureQueriesContext(connection) as queries:
            state(arena_id)
        counts.append(len(queries))
    assert max(counts) <= 6


def test_at_outside_the_log_is_refused(make_agent):
    arena_id = random_history(make_agent, 1, writes=5)
    last = Arena.objects.get(pk=arena_id).last_seq
    for bad in (0, last + 1, "3", True):
        with pytest.raises(Invalid):
            state(arena_id, bad)


def test_an_artifact_of_a_slot_the_caller_may_not_read_stays_hidden(make_agent):
    manager = ArenaManager()
    for agent in ("ana", "ben", "cy"):
        make_agent(agent)
    arena_id = manager.create(
        {
            "goal": "g",
            "total_steps": 2,
            "participants": [
                {"agent_id": "ben", "role": "worker"},
                {"agent_id": "cy", "role": "worker", "can_read_other_slots": False},
            ],
        },
        created_by="ana",
    )
    manager.handle(arena_id, "ana").act("activate")
    manager.handle(arena_id, "ben").publish_artifact("text", "ben's", "x")
    manager.handle(arena_id, "cy").publish_artifact("text", "cy's", "y")
    seen_by = {
        a: [x["title"] for x in manager.handle(arena_id, a).state()["artifacts"]]
        for a in ("ben", "cy")
    }
    assert seen_by == {"ben": ["ben's", "cy's"], "cy": ["cy's"]}
    make_agent("zed")
    with pytest.raises(NotFound):
        manager.handle(arena_id, "zed").state()
