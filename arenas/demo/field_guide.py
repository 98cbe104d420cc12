"""The "field guide" arena: a pipeline. Each step waits for the one before, each has its
assignee, who claims it before doing it (a lease) and completes it with the claim's id.
Step 3 is a review step: the writer's completion opens a review, and the pipeline waits for
a person to approve or reject the draft (a rejected draft is revised and submitted again)."""

from __future__ import annotations

from .cast import LEAD, LEASE_SECONDS, RESEARCHER, REVIEWER, WRITER
from .play import Play, Script


def field_guide(play: Play) -> Script:
    """A pipeline: each step waits for the one before, each has its assignee, who claims it
    before doing it. Step 3 is reviewed by a person."""
    yield play.create(
        LEAD,
        {
            "goal": "Write a field guide to the birds of the Tagus estuary",
            "strategy": "pipeline",
            "lease_seconds": LEASE_SECONDS,
            "plan": [
                {"title": "Collect ten years of sightings", "assignee": RESEARCHER},
                {"title": "Sort the species by season", "assignee": RESEARCHER},
                {"title": "Draft the species pages", "assignee": WRITER, "review": True},
                {"title": "Check the drafts against the sightings", "assignee": REVIEWER},
                {"title": "Assemble the guide", "assignee": LEAD},
            ],
            "participants": [
                {"agent_id": RESEARCHER, "role": "worker"},
                {"agent_id": WRITER, "role": "worker"},
                {"agent_id": REVIEWER, "role": "worker"},
            ],
        },
    )
    yield play.act(LEAD, "activate")
    yield play.say(
        LEAD, "Plan is up: research, then drafting (a person reviews the draft), then checks."
    )
    yield play.claim_next(RESEARCHER)
    yield play.progress(RESEARCHER, "Reading ten years of sightings")
    yield play.fact(
        RESEARCHER,
        "Greater flamingos winter on the estuary from November to March.",
        0.9,
        ["flamingo", "season"],
    )
    yield play.complete(RESEARCHER)
    yield play.claim_next(RESEARCHER)
    yield play.artifact(
        RESEARCHER,
        "structured_data",
        "Sightings by season",
        {
            "winter": ["greater flamingo", "pied avocet", "dunlin"],
            "spring": ["black-winged stilt", "little tern"],
            "all year": ["little egret", "grey heron"],
        },
    )
    yield play.complete(RESEARCHER)
    yield play.progress(RESEARCHER, "Handed over to the writer", "done")
    yield play.claim_next(WRITER)
    yield play.progress(WRITER, "Drafting the species pages")
    yield play.say(WRITER, "Are avocets here all year, or only in winter?", RESEARCHER)
    yield play.say(RESEARCHER, "Mostly winter: numbers peak in January.", WRITER)
    yield play.fact(
        RESEARCHER,
        "Pied avocets peak in January; a few pairs stay to breed.",
        0.8,
        ["avocet", "season"],
    )
    draft = 1
    while True:
        yield play.artifact(
            WRITER,
            "text",
            f"Species pages, draft {draft}",
            "Greater flamingo — Phoenicopterus roseus. Winters here in flocks of thousands…\n\n"
            "Pied avocet — Recurvirostra avosetta. Sweeps the mud with its upturned bill…",
        )
        submitted = play.clients[WRITER].complete_step(
            play.arena_id, 3, play.claims.pop(WRITER)["claim_id"]
        )
        request = submitted["request"]
        play.saw(submitted["event"]["seq"])
        yield (
            f"{WRITER} submitted {play.step_name(3)} (draft {draft}) for review: "
            "the pipeline waits for a person\n" + play.where(request)
        )
        answer = yield from play.wait_for_answer(request, "approve")
        if answer["type"] != "input_provided":
            return  # cancelled: the arena was archived
        if answer["choice"] == "approve":
            yield f"step 3 is completed: {answer['by']} approved {WRITER}'s draft"
            break
        draft += 1
        yield play.claim_next(WRITER)
        yield play.progress(WRITER, f"Revising the draft: {answer['text'] or 'rejected'}")
    yield play.progress(WRITER, "Draft approved", "done")
    yield play.claim_next(REVIEWER)
    yield play.progress(REVIEWER, "Checking the drafts against the sightings")
    yield play.artifact(
        REVIEWER, "text", "Check notes", "Two dates corrected; the avocet page is good."
    )
    yield play.complete(REVIEWER)
    yield play.progress(REVIEWER, "Checks done", "done")
    yield play.claim_next(LEAD)
    yield play.merge(LEAD, [RESEARCHER, WRITER, REVIEWER], "Field guide, edition 1")
    yield play.complete(LEAD)
    yield play.act(LEAD, "settle")
    yield play.say(LEAD, "Guide assembled. Settling, then archiving: thank you all.")
    yield play.act(LEAD, "archive")
