"""The arena lifecycle: Created → Active → Settling → Archived.

`transition` is the one function that moves an arena between states; the REST API, the
admin, the dashboard and the commands all reach it through `ArenaHandle.transition`, which
first ends what the new state does not keep (claims before settling, open requests before
archiving). `require_allows` holds the table of what each state permits.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils import timezone

from . import events
from .errors import ArenaArchived, ArenaNotActive, InvalidTransition
from .models import Arena, Artifact, EventType, Fact, Status


class Operation(StrEnum):
    READ = "read"
    ADD_PARTICIPANT = "add participant"
    REMOVE_PARTICIPANT = "leave or remove a participant"
    UPDATE_GOAL = "update the goal"
    WRITE_SLOT = "complete steps, report progress, publish artifacts or share facts"
    POST_MESSAGE = "post a message"
    MERGE = "merge artifacts"
    RELEASE_CLAIM = "release a claim"
    ASK = "ask people or answer a request"
    REPORT_USAGE = "report usage"
    CHANGE_BUDGET = "change the budget"


_ALL = frozenset(Status.values)

ALLOWED_IN: dict[Operation, frozenset[str]] = {
    Operation.READ: _ALL,
    Operation.ADD_PARTICIPANT: frozenset({Status.CREATED, Status.ACTIVE}),
    Operation.REMOVE_PARTICIPANT: frozenset({Status.CREATED, Status.ACTIVE, Status.SETTLING}),
    Operation.UPDATE_GOAL: frozenset({Status.CREATED, Status.ACTIVE}),
    Operation.WRITE_SLOT: frozenset({Status.ACTIVE}),
    Operation.POST_MESSAGE: frozenset({Status.CREATED, Status.ACTIVE, Status.SETTLING}),
    Operation.MERGE: frozenset({Status.ACTIVE, Status.SETTLING}),
    Operation.RELEASE_CLAIM: frozenset({Status.CREATED, Status.ACTIVE, Status.SETTLING}),
    Operation.ASK: frozenset({Status.CREATED, Status.ACTIVE, Status.SETTLING}),
    Operation.REPORT_USAGE: frozenset({Status.ACTIVE, Status.SETTLING}),
    Operation.CHANGE_BUDGET: frozenset({Status.CREATED, Status.ACTIVE, Status.SETTLING}),
}

# The only three transitions, and the action names the API and admin use for them.
TRANSITIONS: dict[str, str] = {
    Status.CREATED: Status.ACTIVE,
    Status.ACTIVE: Status.SETTLING,
    Status.SETTLING: Status.ARCHIVED,
}
ACTIONS: dict[str, str] = {
    "activate": Status.ACTIVE,
    "settle": Status.SETTLING,
    "archive": Status.ARCHIVED,
}
# How the admin and the dashboard name each action for a person, and what it does.
ACTION_LABELS: dict[str, str] = {
    "activate": "Activate",
    "settle": "Start settling",
    "archive": "Archive",
}
ACTION_HELP: dict[str, str] = {
    "activate": "Agents may then complete steps, publish artifacts and share facts.",
    "settle": "Agents stop working; coordinators may still merge artifacts.",
    "archive": "Facts become long-term memory; the arena can then only be read.",
}
_TIMESTAMP_FIELD = {
    Status.ACTIVE: "activated_at",
    Status.SETTLING: "settling_at",
    Status.ARCHIVED: "archived_at",
}


def allows(status: str, operation: Operation) -> bool:
    return status in ALLOWED_IN[operation]


def require_allows(status: str, operation: Operation) -> None:
    """Raise the 409 error when `status` does not permit `operation`."""
    if allows(status, operation):
        return
    if status == Status.ARCHIVED:
        raise ArenaArchived(f"The arena is archived: it does not allow to {operation}.")
    raise ArenaNotActive(f"An arena in state {status!r} does not allow to {operation}.")


def allowed_transitions(status: str) -> list[str]:
    """The states an arena in `status` may move to (zero or one)."""
    target = TRANSITIONS.get(status)
    return [str(target)] if target else []


def allowed_actions(status: str) -> list[str]:
    """The action names (activate, settle, archive) an arena in `status` may take."""
    targets = allowed_transitions(status)
    return [action for action, target in ACTIONS.items() if target in targets]


def require_transition(status: str, to: str) -> None:
    """`InvalidTransition` unless an arena in `status` may move to state `to`."""
    current, to = str(status), str(to)
    if TRANSITIONS.get(current) != to:
        raise InvalidTransition(current=current, requested=to, allowed=allowed_transitions(current))


def transition(arena: Arena, to: str, actor: str | None) -> None:
    """Move `arena` (locked by the caller, inside its transaction) to state `to`.

    Appends `status_changed`. Archiving also settles the arena: its facts become long-term
    memory, its artifacts are counted, the settle report is stored, and `arena_settled`
    follows. Any other request raises `InvalidTransition` and changes nothing. The caller
    has already released every live claim before settling and cancelled every open request
    before archiving (`ArenaHandle`).
    """
    require_transition(arena.status, to)
    current = str(arena.status)
    to = str(to)
    now = timezone.now()
    arena.status = to
    setattr(arena, _TIMESTAMP_FIELD[to], now)
    if to == Status.ARCHIVED:
        arena.settle_report = _settle(arena, now)
    events.append(
        arena, EventType.STATUS_CHANGED, actor, now=now, from_status=current, to_status=to
    )
    if to == Status.ARCHIVED:
        events.append(arena, EventType.ARENA_SETTLED, actor, now=now, **arena.settle_report)


def _settle(arena: Arena, now) -> dict[str, int]:
    facts_persisted = Fact.objects.filter(arena=arena, settled_at__isnull=True).update(
        settled_at=now
    )
    return {
        "facts_persisted": facts_persisted,
        "artifacts_archived": Artifact.objects.filter(arena=arena).count(),
        "events_cleared": 0,
    }
