"""Forks: a new arena that starts from another arena's state at one seq.

The fork is a `created` arena with the source's strategy, plan, lease and budget (as they
were at that seq), its participants then (roles and flags, slots as they were), its
completed steps (by the same agents), and copies of its artifacts and facts (new ids,
`metadata.forked_from` on artifacts naming the original); no claims, no open requests, no
usage (its totals start at zero). Its own log establishes all of it: `arena_created` with
`forked_from`, then `agent_joined`, `budget_changed` (when a budget was set),
`step_completed`, `artifact_published` (or `artifacts_merged`), `fact_shared` and
`progress_updated` events, so replaying the fork's log gives its aggregate like any
arena's. The source gets `arena_forked`.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .. import events, inputs, participants, validation
from ..aggregate import saturating_add
from ..models import (
    Agent,
    Arena,
    Artifact,
    EventType,
    Fact,
    FactTag,
    Participant,
    Role,
    SlotStatus,
    Step,
    StepCompletion,
)
from ..permissions import ROLE_DEFAULTS
from . import state


def fork(source: Arena, at: Any, goal: Any, by_agent: str | None, actor: str) -> Arena:
    """Fork `source` (locked by the caller, inside its transaction) at seq `at`. The
    forking agent (`by_agent`; None for staff) joins the fork as a coordinator if it was not
    a participant then, so that it can see the fork it made. The fork's rows are written,
    then its whole log in one batch (`events.append_all`), all at one instant."""
    at = validation.integer(at, "at", minimum=1, maximum=max(source.last_seq, 1))
    moment = state.at(source.pk, at)
    folded = moment.folded
    fields = folded.arena
    goal = fields.goal if goal is None else inputs.goal(goal)
    budget = folded.usage.budget
    now = timezone.now()
    fork = Arena.objects.create(
        goal=goal,
        strategy=fields.strategy,
        total_steps=fields.total_steps,
        created_by_id=by_agent,
        lease_seconds=source.lease_seconds,
        budget=budget,
        forked_from=source,
        forked_at_seq=folded.seq,
    )
    Step.objects.bulk_create(
        Step(
            arena=fork,
            number=s.number,
            title=s.title,
            assignee_id=s.assignee_id,
            depends_on=s.depends_on,
            review=s.review,
        )
        for s in sorted(moment.steps.values(), key=lambda s: s.number)
    )
    log: list[tuple[str, str | None, dict[str, Any]]] = [
        (
            EventType.ARENA_CREATED,
            actor,
            {
                "goal": goal,
                "strategy": fields.strategy,
                "total_steps": fields.total_steps,
                "created_by": by_agent,
                "forked_from": {"arena_id": str(source.pk), "seq": folded.seq},
            },
        )
    ]
    members = _members(folded, by_agent)
    agents = Agent.objects.in_bulk([agent_id for agent_id, _role, _flags in members])
    joined: dict[str, Participant] = {}
    for agent_id, role, flags in members:
        joined[agent_id] = participants.join(fork, agents[agent_id], role, flags, now=now)
        log.append(
            (
                EventType.AGENT_JOINED,
                actor,
                {"agent_id": agent_id, "role": role, "permissions": flags},
            )
        )
    if budget is not None:
        log.append((EventType.BUDGET_CHANGED, actor, {"budget": budget, "previous": None}))
    _copy_completions(fork, folded, actor, now, log)
    _copy_artifacts(source, fork, moment, joined, actor, log)
    _copy_facts(fork, moment, actor, log)
    for agent_id, participant in joined.items():
        slot = folded.participants.slots.get(agent_id)
        then = (slot.slot_status, slot.current) if slot and slot.left_at is None else None
        if then is None or then == (participant.slot_status, participant.current):
            continue
        participant.slot_status, participant.current = then
        participant.save(update_fields=["slot_status", "current"])
        log.append(
            (
                EventType.PROGRESS_UPDATED,
                actor,
                {"agent_id": agent_id, "current": then[1], "slot_status": then[0]},
            )
        )
    events.append_all(fork, log, now)
    events.append(source, EventType.ARENA_FORKED, actor, fork_id=str(fork.pk), at=folded.seq)
    return fork


def _copy_completions(fork: Arena, folded: state.Folded, actor: str, now: Any, log: list) -> None:
    """The steps completed then, completed again by the same agents, in step order (their
    `step_completed` events count up as completing them one by one would)."""
    done = sorted(folded.plan.completions.items())
    StepCompletion.objects.bulk_create(
        [
            StepCompletion(arena=fork, step=step, agent_id=agent, completed_at=now)
            for step, (agent, _) in done
        ],
        batch_size=1000,
    )
    for step, (agent_id, _when) in done:
        fork.completed_steps = saturating_add(fork.completed_steps)
        if step == fork.completed_prefix + 1:
            fork.completed_prefix = step
        log.append(
            (
                EventType.STEP_COMPLETED,
                actor,
                {
                    "step": step,
                    "agent_id": agent_id,
                    "completed_steps": fork.completed_steps,
                    "total_steps": fork.total_steps,
                },
            )
        )


def _members(folded: state.Folded, by_agent: str | None) -> list[tuple[str, str, dict]]:
    """(agent_id, role, flags) of the fork's participants: the forking agent first (as it
    was then, or as a coordinator), then those current then by agent id."""
    slots = folded.participants.slots
    current = [a for a, slot in sorted(slots.items()) if slot.left_at is None]
    members = [(a, slots[a].role, dict(slots[a].permissions)) for a in current]
    if by_agent is not None and by_agent not in current:
        members.insert(0, (by_agent, Role.COORDINATOR, dict(ROLE_DEFAULTS[Role.COORDINATOR])))
    return members


def _copy_artifacts(
    source: Arena,
    fork: Arena,
    moment: state.Moment,
    joined: dict[str, Participant],
    actor: str,
    log: list,
) -> None:
    """Copy the artifacts published up to then, oldest first, with their content (one
    read); a merged artifact's `sources` name the copies."""
    wanted = {a.pk for a in moment.artifacts}
    originals = {a.pk: a for a in Artifact.objects.filter(arena=source, pk__in=wanted)}
    copies: dict[str, str] = {}
    merged = set(moment.folded.published.merged)
    for listed in moment.artifacts:
        original = originals[listed.pk]
        metadata = {**original.metadata, "forked_from": str(original.pk)}
        sources = None
        if str(original.pk) in merged:
            sources = [copies.get(s, s) for s in original.metadata.get("sources", [])]
            metadata["sources"] = sources
        copy = Artifact.objects.create(
            arena=fork,
            agent_id=original.agent_id,
            kind=original.kind,
            title=original.title,
            content=original.content,
            metadata=metadata,
        )
        copies[str(original.pk)] = str(copy.pk)
        owner = joined.get(original.agent_id)
        if owner is not None and owner.slot_status != SlotStatus.WORKING:
            owner.slot_status = SlotStatus.WORKING
            owner.save(update_fields=["slot_status"])
        if sources is not None:
            log.append(
                (
                    EventType.ARTIFACTS_MERGED,
                    actor,
                    {
                        "agent_id": original.agent_id,
                        "artifact_id": str(copy.pk),
                        "sources": sources,
                    },
                )
            )
        else:
            log.append(
                (
                    EventType.ARTIFACT_PUBLISHED,
                    actor,
                    {
                        "agent_id": original.agent_id,
                        "artifact_id": str(copy.pk),
                        "kind": original.kind,
                        "title": original.title,
                    },
                )
            )


def _copy_facts(fork: Arena, moment: state.Moment, actor: str, log: list) -> None:
    for original in moment.facts:
        copy = Fact.objects.create(
            arena=fork,
            source_agent_id=original.source_agent_id,
            content=original.content,
            content_folded=original.content.casefold(),
            confidence=original.confidence,
            tags=original.tags,
        )
        FactTag.objects.bulk_create([FactTag(fact=copy, tag=tag) for tag in set(original.tags)])
        log.append(
            (
                EventType.FACT_SHARED,
                actor,
                {"agent_id": original.source_agent_id, "fact_id": str(copy.pk)},
            )
        )
