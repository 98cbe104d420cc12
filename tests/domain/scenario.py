"""One arena's life that produces every event type, operation by operation.

`SCENARIO` lists (operation, the event types it appends). Run it with `play`, which calls
`check(arena_id, name, types)` after each operation so a test can look at the state then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from arenas import claims
from arenas.manager import ArenaManager

Operation = Callable[[ArenaManager, Any, dict[str, Any]], Any]


def _publish(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
    ctx["artifact"] = manager.handle(arena_id, "bob").publish_artifact(
        "text", "Draft", "Draft text", {"lang": "en"}
    )


def _merge(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
    ctx["merged"] = manager.handle(arena_id, "alice").merge(["bob"], "Merged")


def _share(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
    ctx["fact"] = manager.handle(arena_id, "bob").share_fact("Facts are shared.", 0.75, ["a"])


def _claim(agent_id: str, step: int, key: str, **options: Any) -> Operation:
    def claim(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
        ctx[key] = manager.handle(arena_id, agent_id).claim_step(step, **options)[0]

    return claim


def _report(cost: str, **values: Any) -> Operation:
    def report(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
        manager.handle(arena_id, "bob").report_usage(
            {"model": "my-model", "input_tokens": 120, "output_tokens": 30, "cost_usd": cost}
            | values
        )

    return report


def _lapse(manager: ArenaManager, arena_id: Any, ctx: dict[str, Any]) -> None:
    """Time passes beyond the lease, and the sweep records the expiry."""
    assert claims.sweep(timezone.now() + timedelta(seconds=6)) == 1


SCENARIO: list[tuple[str, list[str], Operation]] = [
    (
        "add participant",
        ["agent_joined"],
        lambda m, a, ctx: m.handle(a, "alice").add_participant("carol", "worker"),
    ),
    ("update goal", ["goal_updated"], lambda m, a, ctx: m.handle(a, "alice").update_goal("G2")),
    ("post message", ["message_posted"], lambda m, a, ctx: m.handle(a, "bob").post_message("hi")),
    (
        "ask people",
        ["input_requested"],
        lambda m, a, ctx: ctx.update(asked=m.handle(a, "bob").ask("Format?", ["pdf", "html"])),
    ),
    (
        "answer",
        ["input_provided"],
        lambda m, a, ctx: m.staff_handle(a, "root").answer_request(ctx["asked"].id, "pdf", "PDF."),
    ),
    (
        "ask again",
        ["input_requested"],
        lambda m, a, ctx: ctx.update(again=m.handle(a, "bob").ask("Anything else?", step=2)),
    ),
    (
        "cancel the request",
        ["input_cancelled"],
        lambda m, a, ctx: m.handle(a, "bob").cancel_request(ctx["again"].id),
    ),
    (
        "fork",
        ["arena_forked"],
        lambda m, a, ctx: ctx.update(fork=m.handle(a, "alice").fork(3)),
    ),
    ("activate", ["status_changed"], lambda m, a, ctx: m.handle(a, "alice").act("activate")),
    ("complete step", ["step_completed"], lambda m, a, ctx: m.handle(a, "bob").complete_step(2)),
    (
        "set a budget",
        ["budget_changed"],
        lambda m, a, ctx: m.staff_handle(a, "root").update({"budget": {"cost_usd": "0.01"}}),
    ),
    ("report usage", ["usage_reported"], _report("0.002")),
    ("report usage to 80%", ["usage_reported", "budget_warning"], _report("0.007", step=2)),
    (
        "report usage past the budget",
        ["usage_reported", "budget_exhausted", "input_requested"],
        _report("0.002", model="gpt-4o"),
    ),
    (
        "raise the budget",
        ["input_provided", "budget_changed"],
        lambda m, a, ctx: m.staff_handle(a, "root").answer_request(
            m.staff_handle(a, "root").requests("open").get().id, "raise", "1.00"
        ),
    ),
    ("claim step", ["step_claimed"], _claim("bob", 3, "claim")),
    (
        "renew the claim",
        [],
        lambda m, a, ctx: m.handle(a, "bob").renew_claim(ctx["claim"].claim_id, 600),
    ),
    (
        "complete the claimed step",
        ["step_completed"],
        lambda m, a, ctx: m.handle(a, "bob").complete_step(3, claim_id=ctx["claim"].claim_id),
    ),
    (
        "claim the next step",
        ["step_claimed"],
        lambda m, a, ctx: ctx.update(next=m.handle(a, "bob").claim_next()[0]),
    ),
    (
        "release a claim",
        ["claim_released"],
        lambda m, a, ctx: m.handle(a, "alice").release_claim(ctx["next"].claim_id),
    ),
    ("claim for a short lease", ["step_claimed"], _claim("carol", 4, "short", lease_seconds=5)),
    ("the lease lapses", ["claim_expired"], _lapse),
    ("claim before leaving", ["step_claimed"], _claim("carol", 4, "leaving")),
    (
        "report progress",
        ["progress_updated"],
        lambda m, a, ctx: m.handle(a, "bob").report_progress("Step 3", "working"),
    ),
    ("publish artifact", ["artifact_published"], _publish),
    ("merge", ["artifacts_merged"], _merge),
    ("share fact", ["fact_shared"], _share),
    ("leave", ["claim_released", "agent_left"], lambda m, a, ctx: m.handle(a, "carol").leave()),
    (
        "rejoin",
        ["agent_joined"],
        lambda m, a, ctx: m.handle(a, "alice").add_participant("carol", "observer"),
    ),
    (
        "remove participant",
        ["agent_left"],
        lambda m, a, ctx: m.staff_handle(a, "root").remove_participant("carol"),
    ),
    (
        "complete step 1",
        ["step_completed"],
        lambda m, a, ctx: m.handle(a, "alice").complete_step(1),
    ),
    ("claim before settling", ["step_claimed"], _claim("bob", 5, "settling")),
    (
        "settle",
        ["claim_released", "status_changed"],
        lambda m, a, ctx: m.handle(a, "alice").act("settle"),
    ),
    (
        "message to one",
        ["message_posted"],
        lambda m, a, ctx: m.staff_handle(a, "root").post_message("done?", to="bob"),
    ),
    (
        "ask while settling",
        ["input_requested"],
        lambda m, a, ctx: m.handle(a, "bob").ask("Is it done?"),
    ),
    (
        "archive",
        ["input_cancelled", "status_changed", "arena_settled"],
        lambda m, a, ctx: m.handle(a, "alice").act("archive"),
    ),
]


def start(make_arena, make_agent) -> Any:
    """The scenario's arena: alice (coordinator, creator) and bob (worker), 5 steps."""
    make_agent("carol")
    return make_arena(participants=[{"agent_id": "bob", "role": "worker"}], total_steps=5)


def play(
    manager: ArenaManager,
    arena_id: Any,
    check: Callable[[Any, str, list[str]], None],
    ctx: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = {} if ctx is None else ctx
    for name, types, operation in SCENARIO:
        operation(manager, arena_id, ctx)
        check(arena_id, name, types)
    return ctx
