"""One arena being played by the demo agents, each a real client of the running server
(`aleph_client.ArenaClient`): `Play`'s actions make one request each and return the line
the terminal shows; its waits are scripts of their own (`yield from`), which yield None
while they wait. `Watch` is one agent's live feed of the arena, read on a thread of its own
so that the play goes on while an agent waits."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator, Iterator
from typing import Any

from aleph_client import ArenaClient, ArenaError, BudgetExhausted, RequestClosed

from .cast import DEMO_USERNAME, LEAD, LEASE_SECONDS, MODEL_USE, RAISED_BUDGET, SHORTEST_LEASE

# Where winding up starts in ("activate", "settle", "archive"), by the arena's status.
WIND_UP_FROM = {"created": 0, "active": 1, "settling": 2}

# What a script yields: a line for the terminal, or None while it waits.
Script = Generator[str | None, None, Any]


class Watch:
    """One agent's live feed of an arena (`client.feed`), read on a thread of its own: the
    events received so far, in `seq` order, for the play to look through while it goes on."""

    def __init__(self, client: ArenaClient, arena_id: str, after: int) -> None:
        self.feed = client.feed(arena_id, after=after)
        self.events: list[dict[str, Any]] = []
        self.error: ArenaError | None = None
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.read, daemon=True, name="demo-feed")
        self.thread.start()

    def read(self) -> None:
        try:
            for event in self.feed:
                with self.lock:
                    self.events.append(dict(event))
        except ArenaError as error:  # refused (the agent left, say): the play hears of it
            self.error = error

    def since(self, index: int) -> list[dict[str, Any]]:
        with self.lock:
            return self.events[index:]

    def find(self, types: tuple[str, ...], **fields: Any) -> dict[str, Any] | None:
        """The first event received of one of `types` with these `fields`, or None (yet)."""
        found = next(
            (
                event
                for event in self.since(0)
                if event["type"] in types and all(event.get(k) == v for k, v in fields.items())
            ),
            None,
        )
        if found is None and self.error is not None:
            raise self.error
        return found

    def close(self) -> None:
        self.feed.close()
        self.thread.join(timeout=5.0)
        if not self.thread.is_alive():
            # The feed's program ends here rather than at the interpreter's exit, where
            # finalizing it reports an error.
            self.feed._driver._program.close()


class Play:
    """One arena being played. Every action method makes one request and returns the line
    the terminal shows for it; the waits are scripts of their own (`yield from`)."""

    def __init__(
        self,
        name: str,
        clients: dict[str, ArenaClient],
        *,
        base_url: str = "",
        answer_after: float | None = None,
        stall_lease: int = SHORTEST_LEASE,
        round_number: int = 1,
    ) -> None:
        self.name = name
        self.round_number = round_number
        self.clients = clients
        self.base_url = base_url
        self.answer_after = answer_after
        self.stall_lease = stall_lease
        self.arena_id = ""
        self.goal = ""
        self.status = "created"
        self.seq = 0  # a `seq` the arena has reached (from the answers seen)
        self.titles: dict[int, str] = {}
        self.claims: dict[str, dict[str, Any]] = {}  # each agent's live claim
        self.watches: dict[str, Watch] = {}
        self.heard = 0  # the lead's feed events that answer_people has looked at

    @property
    def waits_for_people(self) -> bool:
        """Whether what waits for a person waits for as long as the demo runs."""
        return self.answer_after is None

    def titled(self, goal: str) -> str:
        """The goal of this round's arena: a later round's says which round it is."""
        return goal if self.round_number == 1 else f"{goal} (round {self.round_number})"

    @property
    def page(self) -> str:
        return f"{self.base_url}/arenas/{self.arena_id}/"

    def saw(self, seq: int) -> None:
        self.seq = max(self.seq, seq)

    def watch(self, agent: str) -> Watch:
        """The agent's feed of the arena, opened (from the `seq` reached) on first use."""
        if agent not in self.watches:
            self.watches[agent] = Watch(self.clients[agent], self.arena_id, self.seq)
        return self.watches[agent]

    def close(self) -> None:
        for watch in self.watches.values():
            watch.close()
        self.watches.clear()

    def step_name(self, number: int) -> str:
        title = self.titles.get(number)
        return f"step {number} “{title}”" if title else f"step {number}"

    # --- actions ------------------------------------------------------------------------

    def create(self, by: str, config: dict[str, Any]) -> str:
        config = {**config, "goal": self.titled(config["goal"])}
        arena = self.clients[by].create_arena(**config)
        self.arena_id = arena["id"]
        self.goal = config["goal"]
        self.saw(arena["last_seq"])
        self.titles = {n: item["title"] for n, item in enumerate(config.get("plan", []), 1)}
        self.watch(LEAD)  # the lead follows its arena: it answers what staff post
        return f"{by} created the arena “{config['goal']}”: {self.page}"

    def act(self, by: str, action: str) -> str:
        arena = self.clients[by].transition(self.arena_id, action)
        self.status = arena["status"]
        self.saw(arena["last_seq"])
        return f"{by} moved the arena to {self.status}"

    def claim_next(self, by: str, lease: int | None = None) -> str:
        """Claim the lowest-numbered step `by` could do now, with a lease."""
        answer = self.clients[by].claim_next_step(self.arena_id, lease)
        claim = answer["claim"]
        if claim is None:
            return (
                f"{by} finds nothing to claim ({answer['remaining']} left: "
                f"{answer['claimed']} held, {answer['blocked']} blocked)"
            )
        self.claims[by] = dict(claim)
        self.saw(claim["claim_id"])
        seconds = lease or LEASE_SECONDS
        return f"{by} claimed {self.step_name(claim['step'])} (a {seconds} s lease)"

    def renew(self, by: str) -> str:
        claim = self.claims[by]
        renewed = self.clients[by].renew_claim(self.arena_id, claim["claim_id"], LEASE_SECONDS)
        self.claims[by] = dict(renewed["claim"])
        return (
            f"{by} renewed its lease on step {claim['step']} for {LEASE_SECONDS} s more "
            "(long work; a renewal is no event)"
        )

    def spend(self, by: str, step: int | None) -> str:
        """`by` reports what its model calls for `step` used; the server prices them."""
        model, tokens_in, cached, tokens_out = MODEL_USE[by]
        recorded = self.clients[by].report_usage(
            self.arena_id, model, tokens_in, tokens_out, cached_input_tokens=cached, step=step
        )
        self.saw(recorded["event"]["seq"])
        cost = recorded["usage"]["cost_usd"] or "unpriced"
        total = recorded["event"]["totals"]["cost_usd"]
        return (
            f"{by} used {model}: {tokens_in} tokens in, {tokens_out} out (${cost}, arena ${total})"
        )

    def complete(self, by: str) -> str:
        """Report the usage of the step `by` holds, then complete it, naming its claim (the
        fencing token)."""
        claim = self.claims.pop(by)
        spent = self.spend(by, claim["step"])
        result = self.clients[by].complete_step(self.arena_id, claim["step"], claim["claim_id"])
        self.saw(result["event"]["seq"])
        if "request" in result:
            return f"{spent}\n{by} submitted {self.step_name(claim['step'])} for review"
        aggregate = result["aggregate"]
        done, total = aggregate["completed_steps"], aggregate["total_steps"]
        return f"{spent}\n{by} completed step {claim['step']} ({done}/{total})"

    def claim_paid(self, by: str, lease: int | None = None) -> Script:
        """Claim the next step; while the budget is used up, wait for a person (or, given
        `answer_after`, the lead) to answer the budget's request."""
        try:
            line = self.claim_next(by, lease)
        except BudgetExhausted as exhausted:
            yield (
                f"{by} cannot claim: the budget is used up (${exhausted.spent} of "
                f"${exhausted.limit}), and the server asks people what to do"
            )
            yield from self.wait_for_raise()
            line = self.claim_next(by, lease)
        yield line

    def wait_for_raise(self) -> Script:
        """Wait for the open budget request to be answered; given `answer_after`, the lead
        raises the limit to RAISED_BUDGET itself after that long."""
        lead = self.clients[LEAD]
        opened = lead.list_requests(self.arena_id, status="open")["results"]
        request = next(r for r in opened if r["kind"] == "budget")
        yield (
            f"→ A person answers it on the arena's page: open {self.page} (signed in as "
            f"{DEMO_USERNAME}), type a new limit such as {RAISED_BUDGET} and press “raise”.\n  "
            + self.until()
        )
        watch = self.watch(LEAD)
        deadline = None if self.waits_for_people else time.monotonic() + self.answer_after
        while (event := watch.find(("input_provided",), request_id=request["id"])) is None:
            if deadline is not None and time.monotonic() >= deadline:
                # A person may have answered just now: the feed brings it.
                with contextlib.suppress(ArenaError):
                    lead.answer_request(self.arena_id, request["id"], "raise", RAISED_BUDGET)
                deadline = None
            yield None
        if event["choice"] == "raise":
            budget = lead.get_budget(self.arena_id)["budget"] or {}
            yield f"{event['by']} raised the budget to ${budget.get('cost_usd', '?')}: work goes on"
        else:
            yield f"{event['by']} answered “stop”: the arena settles"

    def progress(self, by: str, current: str, slot_status: str = "working") -> str:
        self.clients[by].report_progress(self.arena_id, current, slot_status)
        return f"{by} is {slot_status}: {current}"

    def artifact(self, by: str, kind: str, title: str, content: Any) -> str:
        self.clients[by].publish_artifact(self.arena_id, kind, title, content)
        return f"{by} published {kind} “{title}”"

    def fact(self, by: str, content: str, confidence: float, tags: list[str]) -> str:
        self.clients[by].share_fact(self.arena_id, content, confidence, tags)
        return f"{by} shared a fact: {content}"

    def say(self, by: str, text: str, to: str | None = None) -> str:
        self.saw(self.clients[by].post_message(self.arena_id, text, to)["seq"])
        return f"{by} → {to or 'everyone'}: {text}"

    def merge(self, by: str, sources: list[str], title: str) -> str:
        self.clients[by].merge_artifacts(self.arena_id, sources, title)
        return f"{by} merged the work of {', '.join(sources)} into “{title}”"

    def last_seq(self, by: str) -> int:
        """The arena's newest seq, as `by` reads it."""
        seq = self.clients[by].get_arena(self.arena_id)["last_seq"]
        self.saw(seq)
        return seq

    def fork(self, by: str, at: int, goal: str, why: str) -> str:
        """`by` forks the arena at seq `at` (`why`: what happened just after it) into a new
        arena with `goal`, left in Created for a person to look at; where to look."""
        fork = self.clients[by].fork_arena(self.arena_id, at, goal=goal)
        return (
            f"{by} forked the arena at seq {at}, {why}: the fork “{goal}” starts from that "
            f"moment (the same plan, budget and completed steps; no claims, no usage).\n  "
            f"→ Look at the fork: {self.base_url}/arenas/{fork['id']}/ (it waits in Created); "
            f"on {self.page}, the History panel's scrubber shows seq {at}."
        )

    def refresh_status(self, by: str) -> str:
        self.status = self.clients[by].get_arena(self.arena_id)["status"]
        return self.status

    def wind_up(self) -> bool:
        """Settle and archive the arena (activating it first if it waits in `created`: the
        lifecycle only goes forward), for a demo that stops before its script ends. Whether
        there was anything to wind up."""
        if not self.arena_id or self.refresh_status(LEAD) == "archived":
            return False
        for action in ("activate", "settle", "archive")[WIND_UP_FROM[self.status] :]:
            self.act(LEAD, action)
        return True

    def answer_people(self) -> Iterator[str]:
        """The lead thanks staff for each message they posted, as its feed brings them."""
        if LEAD not in self.watches:
            return
        events = self.watches[LEAD].since(self.heard)
        self.heard += len(events)
        for event in events:
            actor = event.get("actor") or ""
            if event["type"] == "message_posted" and actor.startswith("staff:"):
                person = actor.removeprefix("staff:")
                yield self.say(LEAD, f"Thanks, {person}: noted, we will take it into account.")

    # --- waits --------------------------------------------------------------------------

    def wait_for_expiry(self, by: str, claim: dict[str, Any]) -> Script:
        """`by` waits on its feed until the server records that `claim` lapsed; the event."""
        watch = self.watch(by)
        ends = ("claim_expired", "claim_released")
        while (event := watch.find(ends, claim_id=claim["claim_id"])) is None:
            yield None
        return event

    def ask(self, by: str, text: str, choices: list[str]) -> Script:
        """`by` asks people; the request, once the terminal has said where to answer it."""
        self.watch(by)  # opened before asking: the answer cannot come before it
        request = self.clients[by].ask_people(self.arena_id, text, choices)
        yield f"{by} asks people: “{text}”\n" + self.where(request)
        return request

    def where(self, request: dict[str, Any]) -> str:
        choices = " or ".join(f"“{choice}”" for choice in request["choices"] or ["an answer"])
        return (
            f"→ A person answers it on the arena's page: open {self.page} "
            f"(signed in as {DEMO_USERNAME}) and choose {choices}.\n  " + self.until()
        )

    def until(self) -> str:
        """How long what waits for a person waits, as the terminal says it."""
        if self.waits_for_people:
            return "It waits for you for as long as the demo runs."
        return f"Left alone for {self.answer_after:g} s, {LEAD} (a coordinator) does it itself."

    def wait_for_activation(self) -> Script:
        """The lead waits for a person to activate its arena from the dashboard; given
        `answer_after`, it activates the arena itself after that long. Whether a person did."""
        deadline = None if self.waits_for_people else time.monotonic() + self.answer_after
        while self.refresh_status(LEAD) == "created":
            if deadline is not None and time.monotonic() >= deadline:
                yield self.act(LEAD, "activate")
                return False
            yield None
        return True

    def wait_for_answer(self, request: dict[str, Any], fallback: str) -> Script:
        """The asker waits on its feed for the answer to `request` (`input_provided`, or
        `input_cancelled`); given `answer_after`, the lead answers `fallback` itself after
        that many seconds. The answer's event."""
        asker = request["agent_id"]
        watch = self.watch(asker)
        deadline = None if self.waits_for_people else time.monotonic() + self.answer_after
        answered = False
        closes = ("input_provided", "input_cancelled")
        while True:
            event = watch.find(closes, request_id=request["id"])
            if event is not None:
                break
            if answered or deadline is None or time.monotonic() < deadline:
                yield None
                continue
            answered = True
            try:
                self.clients[LEAD].answer_request(
                    self.arena_id,
                    request["id"],
                    choice=fallback,
                    text=f"Nobody answered within {self.answer_after:g} s, so I decided.",
                )
            except RequestClosed:
                continue  # a person answered just now: the feed brings it
            yield (
                f"{LEAD}: no person answered within {self.answer_after:g} s, so as the "
                f"arena's coordinator it answers “{fallback}” itself"
            )
        if event["type"] == "input_cancelled":
            yield f"{asker} hears on its feed that its request was cancelled"
        else:
            said = f" (“{event['text']}”)" if event.get("text") else ""
            yield f"{asker} hears on its feed: {event['by']} answered “{event['choice']}”{said}"
        return event
