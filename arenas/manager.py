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
from django.utils import timezone

from . import budgets, events, facts, inputs, participants, permissions, plan, validation
from .agents import active_agents
from .errors import Invalid, NotFound, PermissionDenied
from .handle import ArenaHandle
from .models import (
    Agent,
    Arena,
    EventType,
    Fact,
    InputRequest,
    Participant,
    RequestStatus,
    Role,
    Status,
    Step,
    Strategy,
)
from .representations import arena_summary

CONFIG_KEYS = {
    "goal",
    "strategy",
    "total_steps",
    "plan",
    "participants",
    "lease_seconds",
    "budget",
}


class ArenaManager:
    """The central coordinator of arenas."""

    def create(self, config: Mapping[str, Any], created_by: str | None = None) -> uuid.UUID:
        """Create an arena from an ArenaConfig and return its id.

        `created_by` is the creating agent, which becomes the first coordinator; None for an
        arena created by staff or a command. Appends `arena_created`, then `agent_joined` for
        the creator and then every other initial participant sorted by agent id.
        """
        if not isinstance(config, Mapping):
            raise Invalid({"non_field_errors": ["The arena config must be a JSON object."]})
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise Invalid({name: ["Unknown field."] for name in unknown})
        goal = inputs.goal(config.get("goal"))
        strategy = validation.choice(
            config.get("strategy", Strategy.PEER), "strategy", Strategy.values
        )
        steps = plan.parse(config.get("plan"), config.get("total_steps"), strategy)
        if steps is not None:
            total_steps = len(steps)
        else:
            total_steps = validation.integer(
                config.get("total_steps", 0), "total_steps", minimum=0, maximum=inputs.U32_MAX
            )
        members = _initial_participants(config.get("participants"), created_by)
        lease_seconds = inputs.lease_seconds(config.get("lease_seconds", inputs.LEASE_DEFAULT))
        budget = budgets.parse(config.get("budget"))

        with transaction.atomic():
            agents = active_agents([m[0] for m in members], "participants")
            agents.update(active_agents(plan.assignees(steps), "plan"))
            arena = Arena.objects.create(
                goal=goal,
                strategy=strategy,
                total_steps=total_steps,
                created_by=agents[created_by] if created_by else None,
                lease_seconds=lease_seconds,
            )
            Step.objects.bulk_create(
                Step(
                    arena=arena,
                    number=number,
                    title=item["title"],
                    assignee=agents.get(item["assignee"]) if item["assignee"] else None,
                    depends_on=item["depends_on"],
                    review=item["review"],
                )
                for number, item in enumerate(steps or [], start=1)
            )
            events.append(
                arena,
                EventType.ARENA_CREATED,
                created_by,
                goal=goal,
                strategy=strategy,
                total_steps=total_steps,
                created_by=created_by,
                forked_from=None,
            )
            for agent_id, role, flags in members:
                now = timezone.now()
                participants.join(arena, agents[agent_id], role, flags, now=now)
                events.append(
                    arena,
                    EventType.AGENT_JOINED,
                    created_by,
                    now=now,
                    agent_id=agent_id,
                    role=role,
                    permissions=flags,
                )
            if budget is not None:
                budgets.change(arena, budget, created_by)
        return arena.id

    def unarchived_arena_ids(self, agent_id: str) -> list[uuid.UUID]:
        """The ids of every arena not archived in which the agent is a current participant
        (an agent's "active arenas"), ascending."""
        return list(
            Arena.objects.with_current_participant(agent_id)
            .unarchived()
            .order_by("id")
            .values_list("id", flat=True)
        )

    def unarchived_arena_ids_if_allowed(
        self, agent_id: Any, *, asked_by: str | None
    ) -> list[uuid.UUID]:
        """`unarchived_arena_ids` as another caller may ask for it: an agent (`asked_by`)
        for its own only, staff (`asked_by` None) for any agent. NotFound for an id that
        names no agent (a malformed one included), PermissionDenied for another agent's."""
        if asked_by is not None:
            if agent_id != asked_by:
                raise PermissionDenied("Agents may only list their own active arenas.")
        else:
            try:
                agent_id = inputs.agent_id(agent_id)
            except Invalid:
                raise NotFound("No such agent.") from None
            if not Agent.objects.filter(agent_id=agent_id).exists():
                raise NotFound(f"No agent {agent_id!r}.")
        return self.unarchived_arena_ids(agent_id)

    def handle(self, arena_id: Any, agent_id: str, *, check_now: bool = True) -> ArenaHandle:
        """The agent's handle on an arena; NotFound unless it is a current participant.

        Every operation of a handle checks visibility again first (under the row lock for
        writes). `check_now=False` skips the check here, saving a statement when the caller
        goes straight to an operation; the caller then calls `require_visible()` itself
        before reporting anything else, such as invalid input (see `arenas/api/views/base.py`)."""
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

    def current_arenas(self, agent_id: str, status: str | None = None) -> QuerySet[Arena]:
        """The arenas in which the agent is a current participant (of `status` only, when
        given), newest first."""
        qs = Arena.objects.with_current_participant(agent_id)
        return _with_status(qs, status).order_by("-created_at", "id")

    def arenas_for_user(self, user: Any, status: str | None = None) -> QuerySet[Arena]:
        """The arenas a person may see on the dashboard (`Arena.objects.visible_to`), of
        `status` only when given, newest first, annotated with `participant_count`."""
        qs = _with_status(Arena.objects.visible_to(user), status).with_participant_count()
        return qs.order_by("-created_at", "id")

    def user_handle(self, arena_id: Any, user: Any) -> ArenaHandle:
        """A person's handle for reading an arena on the dashboard. Staff get their staff
        handle; another user reads through an agent they own that currently takes part
        (preferring one that may read other slots), so they see what their agent sees.
        NotFound when the user may not see the arena."""
        if user.is_staff:
            return self.staff_handle(arena_id, user.get_username())
        arena_id = inputs.arena_id(arena_id)
        agent_id = (
            Participant.objects.current()
            .owned_by(user)
            .filter(arena_id=arena_id)
            .order_by("-can_read_other_slots", "agent_id")
            .values_list("agent_id", flat=True)
            .first()
        )
        if agent_id is None:
            raise NotFound("No such arena.")
        return ArenaHandle(arena_id, agent_id=agent_id)

    def user_may_see(self, user: Any, arena_id: Any) -> bool:
        try:
            arena_id = inputs.arena_id(arena_id)
        except NotFound:
            return False
        return Arena.objects.visible_to(user).filter(pk=arena_id).exists()

    def summary_and_viewers(self, arena_id: Any) -> tuple[dict[str, Any], frozenset[int]] | None:
        """The dashboard summary of an arena and the ids of the non-staff users who may see
        it (the owners of its current participants: `Arena.objects.visible_to`; staff see
        every arena), read together so one query pair serves every subscriber. None when
        there is no such arena."""
        try:
            arena_id = inputs.arena_id(arena_id)
        except NotFound:
            return None
        arena = Arena.objects.filter(pk=arena_id).first()
        if arena is None:
            return None
        owners = list(
            Participant.objects.current()
            .filter(arena=arena)
            .values_list("agent__owner_id", flat=True)
        )
        viewers = frozenset(owner for owner in owners if owner is not None)
        return arena_summary(arena, len(owners)), viewers

    def requests_for(self, agent_id: str | None, status: Any = None) -> QuerySet[InputRequest]:
        """Requests of the arenas the agent currently takes part in (every request for
        staff, `agent_id` None), newest first, of `status` only when given."""
        listed = InputRequest.objects.all()
        if agent_id is not None:
            listed = listed.filter(
                arena__in=Arena.objects.with_current_participant(agent_id).values("id")
            )
        return _with_request_status(listed, status).order_by("-created_at", "id")

    def requests_for_user(self, user: Any, status: Any = None) -> QuerySet[InputRequest]:
        """Requests a person may see on the dashboard: staff all, another user those of the
        arenas it may see (`Arena.objects.visible_to`), newest first."""
        listed = InputRequest.objects.all()
        if not user.is_staff:
            listed = listed.filter(arena__in=Arena.objects.visible_to(user).values("id"))
        return _with_request_status(listed, status).order_by("-created_at", "id")

    def request_counts(self, arena_id: Any) -> dict[str, int]:
        """How many requests the arena has, and how many of them are open. Both only grow
        or the second falls as the first stays: `2 * total - open` counts the request
        events of the arena, so a change of either says the requests changed."""
        counts = InputRequest.objects.filter(arena_id=arena_id).aggregate(
            total=Count("id"), open=Count("id", filter=Q(status=RequestStatus.OPEN))
        )
        return {"open": counts["open"], "total": counts["total"]}

    def request_counts_for_user(self, user: Any) -> dict[str, dict[str, int]]:
        """`request_counts` of every arena with an open request the person may see, by
        arena id (the dashboard header's count is the sum of their `open`)."""
        with_open = self.requests_for_user(user, RequestStatus.OPEN).order_by().values("arena_id")
        rows = (
            InputRequest.objects.filter(arena_id__in=with_open)
            .order_by()
            .values("arena_id")
            .annotate(total=Count("id"), open=Count("id", filter=Q(status=RequestStatus.OPEN)))
        )
        return {str(row["arena_id"]): {"open": row["open"], "total": row["total"]} for row in rows}

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
        return facts.search(qs, tag, q)


def _with_request_status(qs: QuerySet[InputRequest], status: Any) -> QuerySet[InputRequest]:
    if status is None:
        return qs
    return qs.filter(status=validation.choice(status, "status", RequestStatus.values))


def _with_status(qs: QuerySet[Arena], status: str | None) -> QuerySet[Arena]:
    if status is None:
        return qs
    return qs.filter(status=validation.choice(status, "status", Status.values))


def _initial_participants(
    given: Any, created_by: str | None
) -> list[tuple[str, str, dict[str, bool]]]:
    """(agent_id, role, flags): the creator as coordinator first, then the rest by id."""
    if given is None:
        given = []
    if not isinstance(given, list):
        raise Invalid.field("participants", "Must be a list of participants.")
    if len(given) > inputs.INITIAL_PARTICIPANTS_MAX:
        raise Invalid.field(
            "participants", f"At most {inputs.INITIAL_PARTICIPANTS_MAX} participants."
        )
    resolved: dict[str, tuple[str, dict[str, bool]]] = {}
    for index, item in enumerate(given):
        field = f"participants[{index}]"
        if not isinstance(item, Mapping):
            raise Invalid.field(field, "Each participant must be an object.")
        agent_id = inputs.agent_id(item.get("agent_id"), f"{field}.agent_id")
        if agent_id in resolved:
            raise Invalid.field(field, f"{agent_id!r} is listed twice.")
        overrides = {k: v for k, v in item.items() if k not in ("agent_id", "role")}
        resolved[agent_id] = permissions.resolve(item.get("role"), overrides)
    members = []
    if created_by is not None:
        role, flags = resolved.pop(created_by, permissions.resolve(Role.COORDINATOR))
        if role != Role.COORDINATOR:
            raise Invalid.field("participants", "The creating agent joins as coordinator.")
        members.append((created_by, role, flags))
    members.extend((agent_id, *resolved[agent_id]) for agent_id in sorted(resolved))
    return members
