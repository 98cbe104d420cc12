"""Randomized arena histories for the history tests: a seeded mix of every kind of write
(joins, leaves, claims, releases, expiries, completions, reviews, questions, progress,
artifacts, merges, facts, messages, goal updates, lifecycle transitions, usage reports,
budget changes, the warnings, exhaustions and requests they bring and the answers to
those), refusals included (a refused write changes nothing)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from arenas.errors import DomainError
from arenas.manager import ArenaManager
from arenas.models import Arena, Claim, InputRequest

AGENTS = ["ana", "ben", "cy", "dee"]


def titled_plan(rng: random.Random, size: int) -> list[dict[str, Any]]:
    plan = []
    for number in range(1, size + 1):
        deps = [d for d in range(1, number) if rng.random() < 0.2]
        plan.append(
            {
                "title": f"step {number}",
                "assignee": rng.choice([None, None, "ben"]),
                "depends_on": deps,
                "review": rng.random() < 0.3,
            }
        )
    return plan


def random_history(make_agent, seed: int, writes: int = 70) -> Any:
    """An arena with a random history of about `writes` attempted writes; its id."""
    rng = random.Random(seed)
    manager = ArenaManager()
    for agent in AGENTS:
        make_agent(agent)
    config: dict[str, Any] = {"goal": f"History {seed}", "lease_seconds": 60}
    shape = seed % 3
    if shape == 0:
        config["plan"] = titled_plan(rng, 8)
    elif shape == 1:
        config["total_steps"] = 12
        config["strategy"] = "pipeline" if seed % 2 else "peer"
    else:
        config["total_steps"] = 0
    if seed % 2 == 0:
        config["budget"] = {"cost_usd": "0.30", "per_agent_tokens": 4000}
    config["participants"] = [
        {"agent_id": "ben", "role": "worker"},
        {"agent_id": "cy", "role": "worker", "can_read_other_slots": False},
    ]
    arena_id = manager.create(config, created_by="ana")
    staff = manager.staff_handle(arena_id, "root")
    manager.handle(arena_id, "ana").act("activate")
    steps = list(range(1, 13))

    def handle(agent: str):
        return manager.handle(arena_id, agent, check_now=False)

    def attempt(operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except DomainError:
            return None

    def spend(h) -> None:
        attempt(
            h.report_usage,
            {
                "model": "m",
                "input_tokens": rng.randint(200, 1500),
                "output_tokens": rng.randint(10, 300),
                "cost_usd": rng.choice(["0.05", "0.10", "0.12"]),
                "step": rng.choice([None, rng.choice(steps)]),
            },
        )

    def raise_or_stop(request: InputRequest) -> None:
        budget = Arena.objects.get(pk=arena_id).budget or {}
        limit = budget.get(request.budget_limit)
        if limit is None or rng.random() < 0.1:
            attempt(staff.answer_request, request.id, "stop", "")
        else:
            higher = Decimal(str(limit)) * 2
            attempt(staff.answer_request, request.id, "raise", str(higher))

    for _ in range(writes):
        agent = rng.choice(AGENTS)
        h = handle(agent)
        if rng.random() < 0.15:
            budget_roll = rng.random()
            if budget_roll < 0.7:
                spend(h)
            elif budget_roll < 0.85:
                request = InputRequest.objects.filter(
                    arena_id=arena_id, status="open", kind="budget"
                ).first()
                if request is not None:
                    raise_or_stop(request)
            else:
                limits = rng.choice(
                    [None, {"cost_usd": "0.25"}, {"tokens": 6000, "per_agent_cost_usd": "0.20"}]
                )
                attempt(handle("ana").update, {"budget": limits})
            continue
        roll = rng.random()
        if roll < 0.15:
            attempt(h.claim_step, rng.choice(steps))
        elif roll < 0.28:
            claim = Claim.objects.filter(arena_id=arena_id, agent_id=agent, ended_at__isnull=True)
            claim = claim.first()
            attempt(
                h.complete_step,
                claim.step if claim else rng.choice(steps),
                claim.claim_id if claim else None,
            )
        elif roll < 0.33:
            held = Claim.objects.filter(arena_id=arena_id, ended_at__isnull=True).first()
            if held is not None:
                attempt(h.release_claim, held.claim_id)
        elif roll < 0.38:
            # A lease lapses; the next write records its expiry.
            past = timezone.now() - timedelta(seconds=1)
            live = Claim.objects.filter(arena_id=arena_id, ended_at__isnull=True)
            if live.exists():
                live.filter(pk=live.first().pk).update(expires_at=past)
                Arena.objects.filter(pk=arena_id).update(next_expiry_at=past)
        elif roll < 0.46:
            request = InputRequest.objects.filter(arena_id=arena_id, status="open").first()
            if request is not None and request.kind == "budget":
                raise_or_stop(request)
            elif request is not None:
                choice = rng.choice(request.choices) if request.choices else None
                attempt(staff.answer_request, request.id, choice, "ok" if choice is None else "")
        elif roll < 0.50:
            request = InputRequest.objects.filter(arena_id=arena_id, status="open").first()
            if request is not None:
                attempt(handle(request.agent_id).cancel_request, request.id)
        elif roll < 0.55:
            attempt(h.ask, f"question of {agent}?", rng.choice([None, ["yes", "no"]]))
        elif roll < 0.62:
            attempt(
                h.report_progress,
                f"doing {rng.randint(1, 9)}",
                rng.choice(["working", "done", None]),
            )
        elif roll < 0.70:
            attempt(h.publish_artifact, "text", f"notes of {agent}", "some text", {"n": 1})
        elif roll < 0.73:
            attempt(h.merge, [rng.choice(AGENTS), rng.choice(AGENTS)], "merged")
        elif roll < 0.79:
            attempt(h.share_fact, f"fact by {agent}", 0.5, ["t"])
        elif roll < 0.83:
            attempt(h.post_message, "hello")
        elif roll < 0.86:
            attempt(handle("ana").update_goal, f"goal {rng.randint(1, 99)}")
        elif roll < 0.91:
            attempt(
                handle("ana").add_participant,
                rng.choice(AGENTS),
                rng.choice(["worker", "observer"]),
            )
        elif roll < 0.95:
            attempt(h.leave)
        else:
            attempt(handle("ana").remove_participant, rng.choice(AGENTS))
    if seed % 4 == 3:
        attempt(handle("ana").act, "settle")
        attempt(handle("ana").act, "archive")
    return arena_id
