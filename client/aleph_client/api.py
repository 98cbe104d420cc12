# mypy: disable-error-code="empty-body"
# (The endpoints are stubs: their signatures, return types and docstrings make the methods.)
"""Every operation of the Aleph Arena API, defined once for both clients.

A REST operation is an `@endpoint` stub: its method, its path, its result type by status
(from `types.py`, generated from the server's OpenAPI document), and a signature whose
parameters fill the path, the query string or the JSON body by name (None is left out).
`ENDPOINTS` is the table of them that the server's contract test compares with its OpenAPI
document. Names follow the MCP tools (`claim_next_step`, `complete_step`, ...);
operations without a tool are named in the same style (`update_goal`, `list_claims`, ...).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, Literal, TypeVar

import httpx

from . import types
from .core import Emit, Endpoint, Header, Program, Retry, endpoint, operation, request
from .types import (
    ActiveArenas,
    Aggregate,
    ArenaDetail,
    ArenaPage,
    ArenaStatusEnum,
    Artifact,
    ArtifactKindEnum,
    ArtifactPage,
    BudgetInput,
    BudgetState,
    ClaimHeld,
    ClaimPage,
    ClaimTaken,
    Event,
    EventsPage,
    Fact,
    FactPage,
    Health,
    Me,
    NewParticipant,
    NoClaim,
    Page,
    Participant,
    ParticipantPage,
    PlanStep,
    Request,
    RequestPage,
    RequestStatusEnum,
    ReviewOpened,
    RoleEnum,
    SlotStatusEnum,
    State,
    StepPage,
    StepResult,
    StrategyEnum,
    UsageBreakdown,
    UsageRecorded,
)
from .work import work

T = TypeVar("T")

try:
    VERSION = version("aleph-arena-client")
except PackageNotFoundError:  # imported from a checkout, not installed
    VERSION = "0"
ARENA = "/api/arenas/{arena_id}"


class Api:
    """The operations both clients share; see `ArenaClient` and `AsyncArenaClient`.

    `retry` sets how failed requests are tried again (`Retry()` by default); `transport`
    is the httpx transport to send them through (an `httpx.BaseTransport` for
    `ArenaClient`, an `httpx.AsyncBaseTransport` for `AsyncArenaClient`), for tests and
    proxies; `timeout` is httpx's, in seconds."""

    http_class: type[httpx.Client] | type[httpx.AsyncClient]

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        retry: Retry | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retry = retry or Retry()
        headers = {"Accept": "application/json", "User-Agent": f"aleph-arena-client/{VERSION}"}
        if token:  # without one, only health() answers
            headers["Authorization"] = f"Bearer {token}"
        self.http = self.http_class(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,  # type: ignore[arg-type]
        )

    # --- the service and the caller ---------------------------------------------------------

    @endpoint("GET", "/api/health/", {200: Health})
    def health(self) -> Health:
        """`{"status": "ok"}` while the service is up (needs no token)."""

    @endpoint("GET", "/api/me/", {200: Me})
    def whoami(self) -> Me:
        """The calling agent: `agent_id`, `display_name` and its `active_arenas`."""

    @endpoint("GET", "/api/agents/{agent_id}/active-arenas/", {200: ActiveArenas})
    def active_arenas(self, agent_id: str) -> ActiveArenas:
        """`{"arena_ids": [...]}`: the arenas, not archived, the agent takes part in, ascending
        (for the calling agent itself, or staff)."""

    @endpoint("GET", "/api/facts/", {200: FactPage})
    def search_memory(
        self, q: str | None = None, tag: str | None = None, limit: int | None = None
    ) -> FactPage:
        """Long-term memory: the facts of archived arenas the caller took part in. `tag`
        matches one tag exactly, `q` is a case-insensitive substring."""

    # --- arenas -----------------------------------------------------------------------------

    @endpoint("GET", "/api/arenas/", {200: ArenaPage})
    def list_arenas(
        self, status: ArenaStatusEnum | None = None, limit: int | None = None
    ) -> ArenaPage:
        """The arenas the caller takes part in, newest first (`all()` walks every page)."""

    @endpoint("POST", "/api/arenas/", {201: ArenaDetail})
    def create_arena(
        self,
        goal: str,
        strategy: StrategyEnum | None = None,
        total_steps: int | None = None,
        plan: list[PlanStep] | None = None,
        participants: list[NewParticipant] | None = None,
        lease_seconds: int | None = None,
        budget: BudgetInput | None = None,
    ) -> ArenaDetail:
        """Create an arena (the caller becomes its first coordinator). Give `total_steps`
        (untitled steps; 0 is open-ended) or a `plan` of `{"title", "assignee",
        "depends_on"}`; `participants` are `{"agent_id", "role", ...}`; `budget` is
        `{"cost_usd", "tokens", "per_agent_cost_usd", "per_agent_tokens"}` (any of them)."""

    @endpoint("GET", ARENA + "/", {200: ArenaDetail})
    def get_arena(self, arena_id: str) -> ArenaDetail:
        """The arena with its participants, aggregate, allowed transitions and `you`."""

    @endpoint("PATCH", ARENA + "/", {200: ArenaDetail})
    def update_arena(
        self,
        arena_id: str,
        goal: str | None = None,
        budget: BudgetInput | None = None,
        if_match: Annotated[str | None, Header("If-Match")] = None,
    ) -> ArenaDetail:
        """Change the goal and/or replace the budget (coordinator). With `if_match` (an
        ETag, see `etag()`), only if nobody changed the arena since: else
        `PreconditionFailed`."""

    @operation
    def update_goal(
        self, arena_id: str, goal: str, if_match: str | None = None
    ) -> Program[ArenaDetail]:
        """Change the goal (coordinator); `if_match` as for `update_arena`."""
        return (yield from self.update_arena.program(arena_id, goal=goal, if_match=if_match))

    @operation
    def set_budget(self, arena_id: str, budget: BudgetInput | None) -> Program[ArenaDetail]:
        """Replace the arena's budget (coordinator); None or `{}` removes it. Limits:
        `cost_usd`, `tokens`, `per_agent_cost_usd`, `per_agent_tokens` (dollars as strings
        such as "25.00", tokens as integers: input plus output)."""
        return (yield from self.update_arena.program(arena_id, budget=budget or {}))

    @endpoint("POST", ARENA + "/{action}/", {200: ArenaDetail})
    def transition(
        self, arena_id: str, action: Literal["activate", "settle", "archive"]
    ) -> ArenaDetail:
        """Move the arena on (coordinator): `activate` (created → active), `settle`
        (active → settling) or `archive` (settling → archived); else `InvalidTransition`."""

    @endpoint("GET", ARENA + "/aggregate/", {200: Aggregate})
    def get_aggregate(self, arena_id: str) -> Aggregate:
        """The aggregate: completed and total steps, participants, progress, status."""

    @endpoint("GET", ARENA + "/state/", {200: State})
    def get_state(self, arena_id: str, at: int | None = None) -> State:
        """The arena as it was right after event `at` (default: its newest): its fields and
        aggregate, participants, plan, live claims, open requests, artifacts (without
        content) and facts."""

    @endpoint("POST", ARENA + "/fork/", {201: ArenaDetail})
    def fork_arena(self, arena_id: str, at: int, goal: str | None = None) -> ArenaDetail:
        """A new arena in `created` from this one's state at seq `at` (coordinator or
        staff), optionally with another `goal`; returns the fork."""

    @endpoint("GET", ARENA + "/events/", {200: EventsPage})
    def list_events(
        self, arena_id: str, after: int | None = None, limit: int | None = None
    ) -> EventsPage:
        """Stored events with `seq > after`, in order: `{"events", "last_seq", "next_after"}`
        (continue with `after=next_after` until it is null; `feed()` follows them live)."""

    # --- participants -----------------------------------------------------------------------

    @endpoint("GET", ARENA + "/participants/", {200: ParticipantPage})
    def list_participants(self, arena_id: str, limit: int | None = None) -> ParticipantPage:
        """The current participants, by agent id."""

    @endpoint("POST", ARENA + "/participants/", {201: Participant})
    def add_participant(
        self,
        arena_id: str,
        agent_id: str,
        role: RoleEnum,
        can_write_own_slot: bool | None = None,
        can_read_other_slots: bool | None = None,
        can_write_shared_memory: bool | None = None,
        can_merge: bool | None = None,
    ) -> Participant:
        """Add an agent (coordinator) with a role and any permission overridden."""

    @endpoint("DELETE", ARENA + "/participants/{agent_id}/", {204: None})
    def remove_participant(self, arena_id: str, agent_id: str) -> None:
        """Remove a participant (coordinator), or leave (the agent itself)."""

    @operation
    def leave(self, arena_id: str) -> Program[None]:
        """Leave the arena (the last coordinator cannot: `LastCoordinator`)."""
        me = yield from self.whoami.program()
        yield from self.remove_participant.program(arena_id, me["agent_id"])

    # --- steps and claims -------------------------------------------------------------------

    @endpoint("GET", ARENA + "/steps/", {200: StepPage})
    def get_plan(
        self, arena_id: str, after: int | None = None, limit: int | None = None
    ) -> StepPage:
        """The plan from step `after + 1`: each step's title, assignee, dependencies and
        completion (with an open-ended plan, the completed steps)."""

    @endpoint("POST", ARENA + "/claims/next/", {201: ClaimTaken, 200: NoClaim})
    def claim_next_step(
        self, arena_id: str, lease_seconds: int | None = None
    ) -> ClaimTaken | NoClaim:
        """Claim the lowest-numbered step the caller could complete now:
        `{"claim", "event"}`, or `{"claim": None, "remaining", "claimed", "blocked"}` when
        none can be claimed now."""

    @endpoint("POST", ARENA + "/steps/{step}/claim/", {201: ClaimTaken, 200: ClaimHeld})
    def claim_step(
        self, arena_id: str, step: int, lease_seconds: int | None = None
    ) -> ClaimTaken | ClaimHeld:
        """Claim step `step` (renews it when the caller holds it already); another agent's
        live claim raises `StepClaimed` with its `holder`."""

    @endpoint("POST", ARENA + "/claims/{claim_id}/renew/", {200: ClaimHeld})
    def renew_claim(
        self, arena_id: str, claim_id: int, lease_seconds: int | None = None
    ) -> ClaimHeld:
        """Extend the lease by `lease_seconds` (the arena's default when None);
        `ClaimLost` when the claim is no longer live."""

    @endpoint("DELETE", ARENA + "/claims/{claim_id}/", {204: None})
    def release_claim(self, arena_id: str, claim_id: int) -> None:
        """Give the step back (its holder, or a coordinator)."""

    @endpoint("GET", ARENA + "/claims/", {200: ClaimPage})
    def list_claims(self, arena_id: str, limit: int | None = None) -> ClaimPage:
        """The live claims, by step."""

    @endpoint("POST", ARENA + "/steps/", {201: StepResult, 202: ReviewOpened})
    def complete_step(
        self, arena_id: str, step: int, claim_id: int | None = None
    ) -> StepResult | ReviewOpened:
        """Complete a step: `{"event", "aggregate"}`. A review step is submitted instead:
        `{"request", "event"}` (test `"request" in result`). With `claim_id`, only while
        that claim is live (`ClaimLost` otherwise)."""

    @endpoint("POST", ARENA + "/progress/", {200: Participant})
    def report_progress(
        self, arena_id: str, current: str | None = None, slot_status: SlotStatusEnum | None = None
    ) -> Participant:
        """Say what the caller's slot is doing now (`current`) and its `slot_status`."""

    # --- artifacts and facts ----------------------------------------------------------------

    @endpoint("POST", ARENA + "/artifacts/", {201: Artifact})
    def publish_artifact(
        self,
        arena_id: str,
        kind: ArtifactKindEnum,
        title: str,
        content: Any,
        metadata: dict[str, Any] | None = None,
    ) -> Artifact:
        """Publish to the caller's own slot: text or code (a string) or any JSON value for
        `structured_data`."""

    @endpoint("GET", ARENA + "/artifacts/", {200: ArtifactPage})
    def list_artifacts(
        self, arena_id: str, agent: str | None = None, limit: int | None = None
    ) -> ArtifactPage:
        """Artifacts without their content, oldest first; `agent` narrows to one slot."""

    @endpoint("GET", ARENA + "/artifacts/{artifact_id}/", {200: Artifact})
    def read_artifact(self, arena_id: str, artifact_id: str) -> Artifact:
        """One artifact with its content."""

    @endpoint("POST", ARENA + "/merge/", {201: Artifact})
    def merge_artifacts(self, arena_id: str, sources: list[str], title: str) -> Artifact:
        """Merge the artifacts of the slots of `sources` (agent ids) into one (`can_merge`)."""

    @endpoint("POST", ARENA + "/facts/", {201: Fact})
    def share_fact(
        self,
        arena_id: str,
        content: str,
        confidence: float | None = None,
        tags: list[str] | None = None,
    ) -> Fact:
        """Share a fact with the arena (`confidence` 0.0–1.0, default 1.0)."""

    @endpoint("GET", ARENA + "/facts/", {200: FactPage})
    def search_facts(
        self,
        arena_id: str,
        q: str | None = None,
        tag: str | None = None,
        limit: int | None = None,
    ) -> FactPage:
        """The arena's facts, oldest first; `tag` exact, `q` a case-insensitive substring."""

    # --- messages and requests for people ---------------------------------------------------

    @endpoint("POST", ARENA + "/messages/", {201: Event})
    def post_message(self, arena_id: str, text: str, to: str | None = None) -> Event:
        """Post a message every participant sees on the feed (`to`: one addressee)."""

    @endpoint("POST", ARENA + "/requests/", {201: Request})
    def ask_people(
        self,
        arena_id: str,
        text: str,
        choices: list[str] | None = None,
        step: int | None = None,
    ) -> Request:
        """Ask people a question (with `choices`, or free text); the answer arrives as an
        `input_provided` event on the feed."""

    @endpoint("GET", ARENA + "/requests/", {200: RequestPage})
    def list_requests(
        self, arena_id: str, status: RequestStatusEnum | None = None, limit: int | None = None
    ) -> RequestPage:
        """The arena's requests for people, newest first."""

    @endpoint("GET", "/api/requests/", {200: RequestPage})
    def list_all_requests(
        self, status: RequestStatusEnum | None = None, limit: int | None = None
    ) -> RequestPage:
        """The requests of every arena the caller takes part in (staff: all)."""

    @endpoint("POST", ARENA + "/requests/{request_id}/answer/", {200: Request})
    def answer_request(
        self,
        arena_id: str,
        request_id: str,
        choice: str | None = None,
        text: str | None = None,
    ) -> Request:
        """Answer a request (a coordinator other than the asker, or staff)."""

    @endpoint("DELETE", ARENA + "/requests/{request_id}/", {204: None})
    def cancel_request(self, arena_id: str, request_id: str) -> None:
        """Withdraw an open request (the asker)."""

    # --- usage and budgets --------------------------------------------------------------------

    @endpoint("POST", ARENA + "/usage/", {201: UsageRecorded})
    def report_usage(
        self,
        arena_id: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int | None = None,
        calls: int | None = None,
        cost_usd: str | None = None,
        step: int | None = None,
    ) -> UsageRecorded:
        """Report what model calls used (OpenTelemetry GenAI names: `input_tokens` counts
        cached ones too, `cached_input_tokens` says how many). Without `cost_usd` (dollars
        as a string, e.g. "0.012345") the server prices it from the model's name. Never
        refused for being over budget."""

    @endpoint("GET", ARENA + "/usage/", {200: UsageBreakdown})
    def get_usage(
        self, arena_id: str, group: Literal["agent", "step", "model"] | None = None
    ) -> UsageBreakdown:
        """The arena's usage totals and their breakdown by agent (default), step or model."""

    @endpoint("GET", ARENA + "/budget/", {200: BudgetState})
    def get_budget(self, arena_id: str) -> BudgetState:
        """The budget, what the arena and you spent, what `remaining` of each limit, and the
        `exhausted` scopes (`arena`, your agent id): check before an expensive call."""

    # --- helpers over the operations --------------------------------------------------------

    def pages(self, page: Page[T]) -> Program[None]:
        """Emits every item of `page` and of the pages after it (following `next`)."""
        while True:
            for item in page["results"]:
                yield Emit(item)
            if not page["next"]:
                return
            page = yield from request(self.retry, "GET", page["next"])

    work = operation(work)


def etag(arena: ArenaDetail) -> str:
    """The ETag of an arena as it was read (docs/api.md: `"<arena id>-<last_seq>"`), for
    `update_goal(..., if_match=etag(arena))`."""
    return f'"{arena["id"]}-{arena["last_seq"]}"'


ENDPOINTS: dict[str, Endpoint[Any, Any]] = {
    name: value for name, value in vars(Api).items() if isinstance(value, Endpoint)
}


def result_names(endpoint: Endpoint[Any, Any]) -> dict[int, str | None]:
    """An endpoint's result types by status, by their names in `types.py` (None: no body)."""
    return {
        status: None if result is None else type_name(result)
        for status, result in endpoint.results.items()
    }


def type_name(value: Any) -> str:
    """The name that `types.py` gives a type (a page, a union or a TypedDict)."""
    return next(
        name for name, known in vars(types).items() if not name.startswith("_") and known == value
    )
