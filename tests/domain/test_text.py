"""Text: stored verbatim, limits in characters, NUL and lone surrogates refused, and hostile
strings (SQL-looking, LIKE wildcards) kept as plain data."""

from __future__ import annotations

import pytest

from arenas.errors import Invalid, NotFound
from arenas.models import Arena, Artifact, Event, Fact, Participant

from .helpers import arena_row

SAMPLES = {
    "emoji": "🧪🚀 family 👩‍👩‍👧‍👦, flag 🇺🇦, skin tone 👍🏽, keycap 1️⃣",
    "combining": "e\u0301 vs \u00e9, a\u0308, Z\u0351\u0325\u0300alg\u0337o\u0334, "
    "\u1100\u1161\u11a8",
    "right-to-left": "שלום עולם — مرحبا بالعالم \u200f(rtl mark) \u202eevil override\u202c",
    "whitespace": "  leading, trailing, tab\t and CRLF\r\nlines  ",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 \U0010fffd",
}
HOSTILE = [
    "'; DROP TABLE arenas_arena; --",
    'Robert"); DELETE FROM arenas_event WHERE 1=1; --',
    "1' OR '1'='1",
    "%_% \\ \\% LIKE wildcards",
    "$$; SELECT pg_sleep(10); $$",
    "<script>alert('x')</script>",
    "{{ settings.SECRET_KEY }} ${jndi:ldap://x}",
]


def assert_exact(stored: str, given: str) -> None:
    assert stored == given
    assert stored.encode("utf-8") == given.encode("utf-8")


@pytest.fixture
def active(make_arena, manager):
    arena_id = make_arena(status="active", participants=[{"agent_id": "bob", "role": "worker"}])
    return arena_id, manager.handle(arena_id, "alice"), manager.handle(arena_id, "bob")


@pytest.mark.parametrize(
    "value",
    list(SAMPLES.values()) + HOSTILE,
    ids=list(SAMPLES) + [f"hostile{n}" for n in range(len(HOSTILE))],
)
def test_text_round_trips_byte_exact_through_every_field(make_agent, manager, active, value):
    arena_id, alice, bob = active

    created = manager.create({"goal": value, "total_steps": 1}, created_by="alice")
    assert_exact(Arena.objects.get(pk=created).goal, value)
    assert_exact(Event.objects.get(arena_id=created, seq=1).data["goal"], value)
    assert_exact(manager.handle(created, "alice").detail()["goal"], value)

    alice.update_goal(value)
    assert_exact(Arena.objects.get(pk=arena_id).goal, value)
    assert_exact(Event.objects.filter(arena_id=arena_id).last().data["new_goal"], value)

    message = bob.post_message(value, to="alice")
    assert_exact(Event.objects.get(pk=message.pk).data["text"], value)

    bob.report_progress(value[:500], "working")
    assert_exact(Participant.objects.get(arena_id=arena_id, agent_id="bob").current, value[:500])

    fact = bob.share_fact(value, 0.5, [value[:64]])
    stored_fact = Fact.objects.get(pk=fact.pk)
    assert_exact(stored_fact.content, value)
    assert_exact(stored_fact.tags[0], value[:64])
    assert [f.pk for f in bob.facts(tag=value[:64])] == [fact.pk]
    assert [f.pk for f in bob.facts(q=value)] == [fact.pk]

    text_artifact = bob.publish_artifact("text", value[:200], value, {value[:20]: value})
    stored = Artifact.objects.get(pk=text_artifact.pk)
    assert_exact(stored.title, value[:200])
    assert_exact(stored.content, value)
    assert stored.metadata == {value[:20]: value}

    data = {"text": value, "list": [value, {"nested": value}], value[:10]: 1}
    structured = bob.publish_artifact("structured_data", "data", data)
    assert Artifact.objects.get(pk=structured.pk).content == data


def test_no_normalisation_composed_and_decomposed_stay_distinct(active):
    _, alice, _ = active
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    alice.share_fact(composed)
    alice.share_fact(decomposed)
    assert sorted(f.content for f in alice.facts()) == sorted([composed, decomposed])
    assert [f.content for f in alice.facts(q=decomposed)] == [decomposed]


@pytest.mark.parametrize("unit", ["🧪", "e\u0301"[1], "ש", "a", "👩‍👧"[1]])
def test_limits_count_characters_not_bytes(make_agent, manager, active, unit):
    _, alice, bob = active
    at_limit, over = unit * 4000, unit * 4001

    assert manager.create({"goal": at_limit}, created_by="alice")
    with pytest.raises(Invalid) as refused:
        manager.create({"goal": over}, created_by="alice")
    assert "goal" in refused.value.fields

    assert bob.post_message(at_limit).data["text"] == at_limit
    with pytest.raises(Invalid):
        bob.post_message(over)

    assert bob.share_fact(at_limit).content == at_limit
    with pytest.raises(Invalid):
        bob.share_fact(over)

    assert bob.publish_artifact("text", unit * 200, "x").title == unit * 200
    with pytest.raises(Invalid):
        bob.publish_artifact("text", unit * 201, "x")
    assert bob.share_fact("tagged", 1.0, [unit * 64]).tags == [unit * 64]
    with pytest.raises(Invalid):
        bob.share_fact("tagged", 1.0, [unit * 65])


def test_four_thousand_emoji_fill_a_goal_exactly(make_agent, manager):
    make_agent("alice")
    goal = "🧪" * 4000
    assert len(goal.encode("utf-8")) == 16000
    arena_id = manager.create({"goal": goal}, created_by="alice")
    assert_exact(Arena.objects.get(pk=arena_id).goal, goal)
    with pytest.raises(Invalid):
        manager.handle(arena_id, "alice").update_goal(goal + "🧪")
    assert_exact(Arena.objects.get(pk=arena_id).goal, goal)


@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "lone \ud800 surrogate", "\udfff", "x\udc80y"])
def test_nul_and_lone_surrogates_are_refused_everywhere(make_agent, manager, active, bad):
    arena_id, alice, bob = active
    before = arena_row(arena_id)
    events_before = Event.objects.count()
    attempts = [
        lambda: manager.create({"goal": bad}, created_by="alice"),
        lambda: alice.update_goal(bad),
        lambda: bob.post_message(bad),
        lambda: bob.share_fact(bad),
        lambda: bob.share_fact("ok", 1.0, [bad]),
        lambda: bob.report_progress(bad),
        lambda: bob.publish_artifact("text", bad, "x"),
        lambda: bob.publish_artifact("text", "t", bad),
        lambda: bob.publish_artifact("structured_data", "t", {"deep": [bad]}),
        lambda: bob.publish_artifact("structured_data", "t", {bad: 1}),
        lambda: bob.publish_artifact("text", "t", "x", {"k": bad}),
    ]
    for attempt in attempts:
        with pytest.raises(Invalid):
            attempt()
    assert arena_row(arena_id) == before
    assert Event.objects.count() == events_before
    assert Arena.objects.count() == 1


def test_blank_text_is_refused_but_surrounding_space_is_kept(make_agent, manager):
    make_agent("alice")
    for blank in ("", "   ", "\n\t"):
        with pytest.raises(Invalid):
            manager.create({"goal": blank}, created_by="alice")
    arena_id = manager.create({"goal": "  padded goal \n"}, created_by="alice")
    assert Arena.objects.get(pk=arena_id).goal == "  padded goal \n"


def test_like_wildcards_in_a_search_match_only_themselves(active):
    _, alice, _ = active
    plain = alice.share_fact("nothing special here")
    percent = alice.share_fact("100% sure")
    underscore = alice.share_fact("snake_case name")
    quote = alice.share_fact("it's O'Brien's")

    assert [f.pk for f in alice.facts(q="%")] == [percent.pk]
    assert [f.pk for f in alice.facts(q="_")] == [underscore.pk]
    assert [f.pk for f in alice.facts(q="'")] == [quote.pk]
    assert [f.pk for f in alice.facts(q="' OR '1'='1")] == []
    assert {f.pk for f in alice.facts()} == {plain.pk, percent.pk, underscore.pk, quote.pk}
    assert list(alice.facts(tag="' OR 1=1 --")) == []


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_as_ids_are_refused_or_not_found(make_agent, manager, active, hostile):
    arena_id, alice, bob = active
    before = arena_row(arena_id)
    with pytest.raises(NotFound):
        manager.handle(hostile, "alice")
    with pytest.raises(NotFound):
        manager.handle(arena_id, hostile)
    with pytest.raises(NotFound):
        alice.artifact(hostile)
    for attempt in (
        lambda: alice.add_participant(hostile, "worker"),
        lambda: alice.add_participant("bob", hostile),
        lambda: alice.remove_participant(hostile),
        lambda: alice.merge([hostile], "t"),
        lambda: alice.post_message("hi", to=hostile),
        lambda: list(alice.artifacts(agent=hostile)),
        lambda: manager.create(
            {"goal": "g", "participants": [{"agent_id": hostile, "role": "worker"}]}
        ),
    ):
        with pytest.raises(Invalid):
            attempt()
    assert manager.unarchived_arena_ids(hostile) == []
    assert arena_row(arena_id) == before
