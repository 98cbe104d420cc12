"""ArenaManager: creates arenas, finds an agent's arenas, and hands out ArenaHandles.

It is the entry point of the domain for every adapter: REST views, websocket consumers, the
dashboard, the admin and the management commands.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from . import events, permissions, text
from .errors import Invalid, NotFound
from .handle import ArenaHandle, filter_facts, join, parse_arena_id, validate_goal
from .models import Agent, Arena, EventType, Fact, Participant, Role, Status, Step, Strategy
from .representations import arena_summary
from .text import U32_MAX

PLAN_MAX_STEPS = 10_000
PLAN_TITLE_MAX = 500
INITIAL_PARTICIPANTS_MAX = 1000
CONFIG_KEYS = {"goal", "strategy", "total_steps", "plan", "participants"}
PLAN_KEYS = {"title", "assignee", "depends_on"}


class ArenaManager:
    """The central coordinator of arenas."""

    def create(self, config: Mapping[str, Any], created_by: str | None = None) -> uuid.UUID:
        """Create an arena from an ArenaConfig (SPEC §2) and return its id.

        `created_by` is the creating agent, which becomes the first coordinator; None for an
        arena created by staff or a command. Appends `arena_created`, then `agent_joined` for
        the creator and then every other initial participant sorted by agent id.
        """
        if not isinstance(config, Mapping):
            raise Invalid({"non_field_errors": ["The arena config must be a JSON object."]})
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise Invalid({name: ["Unknown field."] for name in unknown})
        goal = validate_goal(config.get("goal"))
        strategy = text.choice(config.get("strategy", Strategy.PEER), "strategy", Strategy.values)
        plan = _plan(config.get("plan"), config.get("total_steps"), strategy)
        total_steps = (
            len(plan)
            if plan is not None
            else text.integer(config.get("total_steps", 0), "total_steps", maximum=U32_MAX)
        )
        members = _initial_participants(config.get("participants"), created_by)

        with transaction.atomic():
            agents = _agents([m[0] for m in members] + _assignees(plan))
            arena = Arena.objects.create(
                goal=goal,
                strategy=strategy,
                total_steps=total_steps,
                created_by=agents[created_by] if created_by else None,
            )
            if plan:
                Step.objects.bulk_create(
                    Step(
                        arena=arena,
                        number=number,
                        title=item["title"],
                        assignee=agents.get(item["assignee"]) if item["assignee"] else None,
                        depends_on=item["depends_on"],
                    )
                    for number, item in enumerate(plan, start=1)
                )
            actor = created_by
            events.append(
                arena,
                EventType.ARENA_CREATED,
                actor,
                goal=goal,
                strategy=strategy,
                total_steps=total_steps,
                created_by=created_by,
            )
            for agent_id, role, flags in members:
                join(arena, agents[agent_id], role, flags)
                events.append(arena, EventType.AGENT_JOINED, actor, agent_id=agent_id, role=role)
        return arena.id

    def active_arenas_for(self, agent_id: str) -> list[uuid.UUID]:
        """Every arena not archived in which the agent is a current participant, ascending."""
        return list(
            Arena.objects.filter(
                participants__agent_id=agent_id, participants__left_at__isnull=True
            )
            .exclude(status=Status.ARCHIVED)
            .order_by("id")
            .values_list("id", flat=True)
        )

    def handle(self, arena_id: Any, agent_id: str, *, check_now: bool = True) -> ArenaHandle:
        """The agent's handle on an arena; NotFound unless it is a current participant.

        Every operation of a handle checks visibility again first (under the row lock for
        writes). `check_now=False` skips the check here, saving a statement when the caller
        goes straight to an operation; the caller then calls `require_visible()` itself
        before reporting anything else, such as invalid input (see `arenas/api/views.py`)."""
        handle = ArenaHandle(arena_id, agent_id=agent_id)
        if check_now:
            handle.require_visible()
        return handle

    def staff_handle(self, arena_id: Any, username: str, *, check_now: bool = True) -> ArenaHandle:
        """A staff user's handle: reads and manages any arena, acting as `staff:<username>`.
        `check_now` as for `handle`."""
        handle = ArenaHandle(arena_id, staff_username=username)
        if check_now:
            handle.require_visible()
        return handle

    def arenas_for_agent(self, agent_id: str, status: str | None = None) -> QuerySet[Arena]:
        """Arenas the agent currently takes part in, newest first."""
        qs = Arena.objects.filter(
            participants__agent_id=agent_id, participants__left_at__isnull=True
        )
        return _with_status(qs, status).order_by("-created_at", "id")

    def arenas_for_user(self, user: Any, status: str | None = None) -> QuerySet[Arena]:
        """Arenas a person may see on the dashboard: staff all, others those in which an
        agent they own currently takes part. Annotated with `participant_count`."""
        qs = Arena.objects.all()
        if not user.is_staff:
            qs = qs.filter(
                participants__agent__owner=user, participants__left_at__isnull=True
            ).distinct()
        qs = _with_status(qs, status).annotate(
            participant_count=Count(
                "participants", filter=Q(participants__left_at__isnull=True), distinct=True
            )
        )
        return qs.order_by("-created_at", "id")

    def user_handle(self, arena_id: Any, user: Any) -> ArenaHandle:
        """A person's handle for reading an arena on the dashboard. Staff get their staff
        handle; another user reads through an agent they own that currently takes part
        (preferring one that may read other slots), so they see what their agent sees.
        NotFound when the user may not see the arena."""
        if user.is_staff:
            return self.staff_handle(arena_id, user.get_username())
        arena_id = parse_arena_id(arena_id)
        agent_id = (
            Participant.objects.filter(arena_id=arena_id, agent__owner=user, left_at__isnull=True)
            .order_by("-can_read_other_slots", "agent_id")
            .values_list("agent_id", flat=True)
            .first()
        )
        if agent_id is None:
            raise NotFound("No such arena.")
        return ArenaHandle(arena_id, agent_id=agent_id)

    def user_may_see(self, user: Any, arena_id: Any) -> bool:
        try:
            arena_id = parse_arena_id(arena_id)
        except NotFound:
            return False
        return self.arenas_for_user(user).filter(pk=arena_id).exists()

    def summary_and_viewers(self, arena_id: Any) -> tuple[dict[str, Any], frozenset[int]] | None:
        """The dashboard summary of an arena and the ids of the non-staff users who may see
        it (the owners of its current participants, the rule of `arenas_for_user`; staff see
        every arena), read together so one query pair serves every subscriber. None when
        there is no such arena."""
        try:
            arena_id = parse_arena_id(arena_id)
        except NotFound:
            return None
        arena = Arena.objects.filter(pk=arena_id).first()
        if arena is None:
            return None
        owners = list(
            Participant.objects.filter(arena=arena, left_at__isnull=True).values_list(
                "agent__owner_id", flat=True
            )
        )
        viewers = frozenset(owner for owner in owners if owner is not None)
        return arena_summary(arena, len(owners)), viewers

    def memory_facts(
        self, agent_id: str | None, tag: str | None = None, q: str | None = None
    ) -> QuerySet[Fact]:
        """Settled facts of archived arenas the agent took part in (every one for staff,
        `agent_id=None`), oldest first."""
        qs = Fact.objects.filter(settled_at__isnull=False)
        if agent_id is not None:
            qs = qs.filter(
                arena__in=Participant.objects.filter(agent_id=agent_id).values("arena_id")
            )
        return filter_facts(qs, tag, q)


def _with_status(qs: QuerySet[Arena], status: str | None) -> QuerySet[Arena]:
    if status is None:
        return qs
    return qs.filter(status=text.choice(status, "status", Status.values))


def _plan(plan: Any, total_steps: Any, strategy: str) -> list[dict[str, Any]] | None:
    if plan is None:
        return None
    if not isinstance(plan, list):
        raise Invalid.field("plan", "Must be a list of steps.")
    if len(plan) > PLAN_MAX_STEPS:
        raise Invalid.field("plan", f"At most {PLAN_MAX_STEPS} steps.")
    if total_steps is not None and total_steps != len(plan):
        raise Invalid.field("total_steps", "Give total_steps or plan, not both.")
    steps = []
    for number, item in enumerate(plan, start=1):
        field = f"plan[{number - 1}]"
        if not isinstance(item, Mapping):
            raise Invalid.field(field, "Each step must be an object.")
        unknown = sorted(set(item) - PLAN_KEYS)
        if unknown:
            raise Invalid.field(field, f"Unknown field(s): {', '.join(unknown)}.")
        title = text.text(item.get("title", ""), f"{field}.title", max_len=PLAN_TITLE_MAX)
        assignee = item.get("assignee")
        if assignee is not None:
            assignee = text.agent_id(assignee, f"{field}.assignee")
        depends = item.get("depends_on", [])
        if not isinstance(depends, list):
            raise Invalid.field(f"{field}.depends_on", "Must be a list of step numbers.")
        for dep in depends:
            text.integer(dep, f"{field}.depends_on", minimum=1, maximum=len(plan))
            if dep == number:
                raise Invalid.field(f"{field}.depends_on", "A step cannot depend on itself.")
        if strategy == Strategy.PIPELINE and number > 1:
            depends = [*depends, number - 1]
        steps.append({"title": title, "assignee": assignee, "depends_on": sorted(set(depends))})
    _require_acyclic(steps)
    return steps


def _require_acyclic(steps: list[dict[str, Any]]) -> None:
    """Kahn's algorithm over the plan; a cycle would block its steps forever."""
    waiting = {n: set(s["depends_on"]) for n, s in enumerate(steps, start=1)}
    ready = [n for n, deps in waiting.items() if not deps]
    dependents: dict[int, list[int]] = {}
    for n, deps in waiting.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(n)
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for later in dependents.get(n, []):
            waiting[later].discard(n)
            if not waiting[later]:
                ready.append(later)
    if seen != len(steps):
        raise Invalid.field("plan", "The steps' dependencies form a cycle.")


def _assignees(plan: list[dict[str, Any]] | None) -> list[str]:
    return [s["assignee"] for s in plan or [] if s["assignee"]]


def _initial_participants(
    participants: Any, created_by: str | None
) -> list[tuple[str, str, dict[str, bool]]]:
    """(agent_id, role, flags): the creator as coordinator first, then the rest by id."""
    if participants is None:
        participants = []
    if not isinstance(participants, list):
        raise Invalid.field("participants", "Must be a list of participants.")
    if len(participants) > INITIAL_PARTICIPANTS_MAX:
        raise Invalid.field("participants", f"At most {INITIAL_PARTICIPANTS_MAX} participants.")
    given: dict[str, tuple[str, dict[str, bool]]] = {}
    for index, item in enumerate(participants):
        field = f"participants[{index}]"
        if not isinstance(item, Mapping):
            raise Invalid.field(field, "Each participant must be an object.")
        agent_id = text.agent_id(item.get("agent_id"), f"{field}.agent_id")
        if agent_id in given:
            raise Invalid.field(field, f"{agent_id!r} is listed twice.")
        overrides = {k: v for k, v in item.items() if k not in ("agent_id", "role")}
        given[agent_id] = permissions.resolve(item.get("role"), overrides)
    members = []
    if created_by is not None:
        role, flags = given.pop(created_by, permissions.resolve(Role.COORDINATOR))
        if role != Role.COORDINATOR:
            raise Invalid.field("participants", "The creating agent joins as coordinator.")
        members.append((created_by, role, flags))
    members.extend((agent_id, *given[agent_id]) for agent_id in sorted(given))
    return members


def _agents(agent_ids: list[str]) -> dict[str, Agent]:
    wanted = set(agent_ids)
    found = {a.agent_id: a for a in Agent.objects.filter(agent_id__in=wanted, is_active=True)}
    unknown = sorted(wanted - set(found))
    if unknown:
        raise Invalid.field("participants", f"Unknown agent id(s): {', '.join(unknown)}.")
    return found
