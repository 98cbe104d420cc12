"""The arena page's spend panel: usage against the budget's limits, as meters."""

from __future__ import annotations

from typing import Any

from arenas import budgets, inputs
from arenas.handle import ArenaHandle

SPEND_STEPS_SHOWN = 20


LIMIT_LABELS = {
    "cost_usd": "Arena, dollars",
    "tokens": "Arena, tokens",
    "per_agent_cost_usd": "Each agent, dollars",
    "per_agent_tokens": "Each agent, tokens",
}


def spend_context(handle: ArenaHandle, arena: dict[str, Any]) -> dict[str, Any]:
    """Spend against each limit (the per-agent ones at the agent that spent the most), and
    the spend of each agent and of the costliest steps, as bars."""
    budget = arena["budget"]
    total = arena["usage"]
    agents = handle.usage("agent")["results"]
    limits = []
    for name, label in LIMIT_LABELS.items():
        limit = budgets.limit_of(budget, name)
        if limit is None:
            continue
        if name in budgets.ARENA_LIMITS:
            spent, scope = _amount(total, name), budgets.ARENA_SCOPE
        else:
            spent, scope = max(((_amount(a, name), a["agent_id"]) for a in agents), default=(0, ""))
            label = f"{label} (most: {scope})" if scope else label
        limits.append(_meter(name, label, scope, spent, limit))
    per_agent = budgets.limit_of(budget, "per_agent_cost_usd")
    top_agent = max((_amount(a, "cost_usd") for a in agents), default=0)
    steps = handle.usage("step")["results"]
    steps.sort(key=lambda s: (-_amount(s, "cost_usd"), s["step"]))
    top_step = max((_amount(s, "cost_usd") for s in steps), default=0)
    return {
        "total": total,
        "limits": limits,
        "agents": [
            _meter(
                "cost_usd",
                "",
                a["agent_id"],
                _amount(a, "cost_usd"),
                per_agent or top_agent,
                key=a["agent_id"],
                limited=per_agent is not None,
            )
            for a in agents
        ],
        "steps": [
            _meter(
                "cost_usd", "", "", _amount(s, "cost_usd"), top_step, key=s["step"], limited=False
            )
            for s in steps[:SPEND_STEPS_SHOWN]
        ],
        "steps_truncated": len(steps) > SPEND_STEPS_SHOWN,
    }


def _amount(totals: dict[str, Any], name: str) -> int:
    """What `totals` spent in the unit of limit `name` (micro-dollars or tokens)."""
    if name in budgets.COST_LIMITS:
        return inputs.money(totals["cost_usd"], name)
    return totals["input_tokens"] + totals["output_tokens"]


def _meter(
    name: str,
    label: str,
    scope: str,
    spent: int,
    limit: int,
    *,
    key: Any = None,
    limited: bool = True,
) -> dict[str, Any]:
    percent = spent * 100 // limit if limit else (100 if spent else 0)
    state = "ok"
    if limited and limit is not None:
        state = "exhausted" if spent >= limit else "warning" if percent >= 80 else "ok"
    return {
        "name": name,
        "label": label,
        "scope": scope,
        "key": key,
        "spent": _shown(name, spent),
        "limit": _shown(name, limit) if limited else None,
        "percent": percent,
        "width": min(100, percent),
        "state": state,
    }


def _shown(name: str, amount: int) -> str:
    return f"${inputs.usd(amount)}" if name in budgets.COST_LIMITS else f"{amount:,} tokens"
