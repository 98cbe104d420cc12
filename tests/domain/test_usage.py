"""Usage, cost and budgets in the domain: the ledger, pricing, budgets and the
refusal of new work while a budget is used up."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from arenas import aggregate, inputs, prices, usage
from arenas.errors import BudgetExhausted, Invalid, PermissionDenied
from arenas.models import Arena, Event, InputRequest, Participant, UsageReport

from .helpers import arena_row, assert_replay_matches, event_types, wire_events

BOB = [{"agent_id": "bob", "role": "worker"}]


def report(handle, **values):
    values = {"model": "my-model", "input_tokens": 100, "output_tokens": 20, **values}
    return handle.report_usage(values)


@pytest.fixture
def arena(make_arena):
    return make_arena(status="active", participants=BOB)


def test_a_report_adds_to_the_arena_the_agent_and_the_step(arena, manager):
    bob = manager.handle(arena, "bob")
    report(bob, cost_usd="0.012345", step=3, cached_input_tokens=40, calls=2)
    row, event = report(bob, cost_usd=Decimal("0.5"))
    stored = Arena.objects.get(pk=arena)
    totals = usage.Totals.of(stored.usage)
    assert totals == usage.Totals(200, 40, 40, 3, 512_345, 0)
    assert usage.Totals.of(Participant.objects.get(arena=arena, agent="bob").usage) == totals
    assert event.data["totals"]["cost_usd"] == "0.512345"
    assert event.data["cost_usd"] == "0.500000" and event.data["priced"] is True
    assert row.cost_micro_usd == 500_000 and row.seq == event.seq
    by_step = manager.handle(arena, "alice").usage("step")["results"]
    assert by_step == [
        {"step": 3, **usage.Totals(100, 20, 40, 2, 12_345, 0).wire()},
    ]
    assert_replay_matches(arena)


def test_money_is_exact_over_many_small_reports(arena, manager):
    bob = manager.handle(arena, "bob")
    for _ in range(1000):
        report(bob, cost_usd="0.000001", input_tokens=1, output_tokens=0)
    assert manager.handle(arena, "bob").aggregate().usage.wire()["cost_usd"] == "0.001000"


def test_a_report_without_a_cost_is_priced_from_the_model_name(arena, manager):
    _, event = report(
        manager.handle(arena, "bob"), model="gpt-4o", input_tokens=1000, output_tokens=500
    )
    # gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
    assert event.data["cost_usd"] == "0.007500"
    assert event.data["priced"] is True


def test_a_provider_prefix_chooses_the_provider(arena, manager):
    bob = manager.handle(arena, "bob")
    _, plain = report(bob, model="claude-sonnet-4-5", input_tokens=1000, output_tokens=1000)
    _, prefixed = report(
        bob, model="anthropic/claude-sonnet-4-5", input_tokens=1000, output_tokens=1000
    )
    assert prefixed.data["cost_usd"] == plain.data["cost_usd"] != "0.000000"


def test_an_unknown_model_is_recorded_unpriced_never_refused(arena, manager):
    _, event = report(manager.handle(arena, "bob"), model="my own fine-tune 🧪", calls=3)
    assert event.data["cost_usd"] is None and event.data["priced"] is False
    totals = manager.handle(arena, "bob").aggregate().usage
    assert (totals.unpriced_calls, totals.calls, totals.input_tokens) == (3, 3, 100)
    by_model = manager.handle(arena, "bob").usage("model")["results"]
    assert by_model[0]["model"] == "my own fine-tune 🧪"
    assert by_model[0]["unpriced_calls"] == 3


def test_an_operator_file_overrides_the_table(arena, manager, settings, tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps(
            {
                "GPT-4o": {"input_per_million": "1", "output_per_million": "2"},
                "house-model": {
                    "input_per_million": 10,
                    "output_per_million": 20,
                    "cached_input_per_million": "1",
                },
            }
        )
    )
    settings.ALEPH_MODEL_PRICES = str(path)
    prices.operator_prices.cache_clear()
    bob = manager.handle(arena, "bob")
    _, table = report(bob, model="gpt-4o", input_tokens=1_000_000, output_tokens=1_000_000)
    _, house = report(
        bob, model="house-model", input_tokens=1000, output_tokens=100, cached_input_tokens=500
    )
    assert table.data["cost_usd"] == "3.000000"
    assert house.data["cost_usd"] == "0.007500"  # 500*10 + 500*1 + 100*20 per million


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"input_tokens": -1}, "input_tokens"),
        ({"input_tokens": 1.5}, "input_tokens"),
        ({"input_tokens": 2**32}, "input_tokens"),
        ({"output_tokens": "5"}, "output_tokens"),
        ({"calls": 0}, "calls"),
        ({"cached_input_tokens": 101}, "cached_input_tokens"),
        ({"cost_usd": "0.1234567"}, "cost_usd"),
        ({"cost_usd": Decimal("0.1234567")}, "cost_usd"),
        ({"cost_usd": -0.5}, "cost_usd"),
        ({"cost_usd": "NaN"}, "cost_usd"),
        ({"cost_usd": Decimal("NaN")}, "cost_usd"),
        ({"cost_usd": "twelve"}, "cost_usd"),
        ({"cost_usd": "1e3"}, "cost_usd"),
        ({"cost_usd": True}, "cost_usd"),
        ({"model": "a\x00b"}, "model"),
        ({"model": "m" * 10_000}, "model"),
        ({"model": ""}, "model"),
        ({"step": 11}, "step"),
        ({"step": 0}, "step"),
        ({"tokens": 5}, "tokens"),
    ],
)
def test_bad_reports_are_invalid_and_change_nothing(arena, manager, values, field):
    before = arena_row(arena)
    with pytest.raises(Invalid) as refused:
        report(manager.handle(arena, "bob"), **values)
    assert field in refused.value.fields
    assert arena_row(arena) == before
    assert not UsageReport.objects.exists()


def test_observers_and_staff_do_not_report(make_arena, manager, make_agent):
    arena_id = make_arena(status="active", participants=[{"agent_id": "olga", "role": "observer"}])
    with pytest.raises(PermissionDenied):
        report(manager.handle(arena_id, "olga"))
    with pytest.raises(PermissionDenied):
        report(manager.staff_handle(arena_id, "root"))


def test_reports_are_taken_while_settling_not_before_activation_or_after_archiving(
    make_arena, manager
):
    created = make_arena(participants=BOB)
    with pytest.raises(Exception, match="does not allow"):
        report(manager.handle(created, "bob"))
    settling = make_arena(status="settling", participants=BOB)
    report(manager.handle(settling, "bob"), cost_usd="1")


# --- budgets ------------------------------------------------------------------------------


def budgeted(make_arena, **budget):
    return make_arena(status="active", participants=BOB, budget=budget)


def test_a_budget_at_creation_is_in_the_log(make_arena):
    arena_id = budgeted(make_arena, cost_usd=Decimal("1.5"), per_agent_tokens=1000)
    assert Arena.objects.get(pk=arena_id).budget == {
        "cost_usd": "1.500000",
        "per_agent_tokens": 1000,
    }
    changed = [e for e in wire_events(arena_id) if e["type"] == "budget_changed"]
    assert changed[0]["budget"] == {"cost_usd": "1.500000", "per_agent_tokens": 1000}
    assert changed[0]["previous"] is None
    assert_replay_matches(arena_id)


def test_warning_at_80_percent_then_exhaustion_and_a_request_each_once(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="1.00")
    bob = manager.handle(arena_id, "bob")
    report(bob, cost_usd="0.70")
    assert "budget_warning" not in event_types(arena_id)
    report(bob, cost_usd="0.10")
    report(bob, cost_usd="0.10")
    report(bob, cost_usd="0.25")
    report(bob, cost_usd="0.25")
    types = event_types(arena_id)
    assert types.count("budget_warning") == 1
    assert types.count("budget_exhausted") == 1
    exhausted = next(e for e in wire_events(arena_id) if e["type"] == "budget_exhausted")
    assert (exhausted["scope"], exhausted["limit"], exhausted["spent"]) == (
        "arena",
        "1.000000",
        "1.150000",
    )
    assert exhausted["actor"] is None
    request = InputRequest.objects.get(arena_id=arena_id)
    assert (request.kind, request.agent_id, request.choices) == ("budget", None, ["raise", "stop"])
    assert "1.150000" in request.text and "1.000000" in request.text


def test_while_exhausted_new_work_is_refused_and_claimed_work_goes_on(make_arena, manager):
    arena_id = budgeted(make_arena, tokens=100)
    bob = manager.handle(arena_id, "bob")
    held, _ = bob.claim_step(1)
    report(bob, input_tokens=90, output_tokens=10)
    for refused in (bob.claim_next, lambda: bob.claim_step(2), lambda: bob.complete_step(2)):
        with pytest.raises(BudgetExhausted) as error:
            refused()
        assert error.value.extra == {"scope": "arena", "limit": 100, "spent": 100}
    bob.complete_step(1, claim_id=held.claim_id)
    bob.post_message("still talking")
    bob.ask("Raise it?")
    bob.publish_artifact("text", "Notes", "text")
    report(bob, input_tokens=5, output_tokens=0)
    assert manager.handle(arena_id, "bob").budget()["exhausted"] == ["arena"]


def test_raising_the_limit_lifts_the_refusal_at_once(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="0.10")
    bob = manager.handle(arena_id, "bob")
    report(bob, cost_usd="0.10")
    with pytest.raises(BudgetExhausted):
        bob.claim_next()
    request = InputRequest.objects.get(arena_id=arena_id, kind="budget")
    manager.handle(arena_id, "alice").answer_request(request.id, "raise", "$0.50")
    assert Arena.objects.get(pk=arena_id).budget == {"cost_usd": "0.500000"}
    claim, _ = bob.claim_next()
    assert claim.step == 1
    assert event_types(arena_id)[-3:] == ["input_provided", "budget_changed", "step_claimed"]
    assert_replay_matches(arena_id)


def test_a_raise_must_name_a_higher_limit(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="0.10")
    report(manager.handle(arena_id, "bob"), cost_usd="0.20")
    request = InputRequest.objects.get(arena_id=arena_id, kind="budget")
    staff = manager.staff_handle(arena_id, "root")
    before = arena_row(arena_id)
    for text in ("0.05", "lots", "", "0.1234567"):
        with pytest.raises(Invalid) as refused:
            staff.answer_request(request.id, "raise", text)
        assert "text" in refused.value.fields
    assert arena_row(arena_id) == before


def test_answering_stop_settles_the_arena(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="0.10")
    report(manager.handle(arena_id, "bob"), cost_usd="0.20")
    request = InputRequest.objects.get(arena_id=arena_id, kind="budget")
    manager.staff_handle(arena_id, "root").answer_request(request.id, "stop")
    assert Arena.objects.get(pk=arena_id).status == "settling"


def test_a_per_agent_limit_stops_that_agent_only(make_arena, manager):
    arena_id = make_arena(
        status="active",
        participants=[*BOB, {"agent_id": "carl", "role": "worker"}],
        budget={"per_agent_cost_usd": "0.50"},
    )
    bob, carl = manager.handle(arena_id, "bob"), manager.handle(arena_id, "carl")
    report(bob, cost_usd="0.50")
    with pytest.raises(BudgetExhausted) as error:
        bob.claim_next()
    assert error.value.extra["scope"] == "bob"
    carl.claim_next()
    request = InputRequest.objects.get(arena_id=arena_id, kind="budget")
    assert "bob" in request.text and request.budget_limit == "per_agent_cost_usd"
    manager.staff_handle(arena_id, "root").answer_request(request.id, "raise", "1")
    assert Arena.objects.get(pk=arena_id).budget == {"per_agent_cost_usd": "1.000000"}
    bob.claim_next()


def test_a_coordinator_or_staff_changes_the_budget_a_worker_cannot(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="1")
    with pytest.raises(PermissionDenied):
        manager.handle(arena_id, "bob").update({"budget": None})
    manager.handle(arena_id, "alice").update({"budget": {"tokens": 5}})
    manager.staff_handle(arena_id, "root").update({"budget": None})
    changes = [e for e in wire_events(arena_id) if e["type"] == "budget_changed"]
    assert [(c["budget"], c["previous"]) for c in changes] == [
        ({"cost_usd": "1.000000"}, None),
        ({"tokens": 5}, {"cost_usd": "1.000000"}),
        (None, {"tokens": 5}),
    ]
    assert_replay_matches(arena_id)


@pytest.mark.parametrize(
    "budget",
    [{"cost_usd": -1}, {"cost_usd": "0.0000001"}, {"tokens": -5}, {"tokens": 1.5}, {"pizza": 1}, 7],
)
def test_a_bad_budget_is_invalid(make_arena, manager, budget):
    arena_id = budgeted(make_arena, cost_usd="1")
    before = arena_row(arena_id)
    with pytest.raises(Invalid):
        manager.handle(arena_id, "alice").update({"budget": budget})
    assert arena_row(arena_id) == before


def test_the_budget_state_for_the_caller(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="2", per_agent_tokens=1000)
    report(manager.handle(arena_id, "bob"), cost_usd="0.5", input_tokens=300, output_tokens=100)
    state = manager.handle(arena_id, "bob").budget()
    assert state["budget"] == {"cost_usd": "2.000000", "per_agent_tokens": 1000}
    assert state["remaining"] == {"cost_usd": "1.500000", "per_agent_tokens": 600}
    assert state["spent"]["you"]["cost_usd"] == "0.500000"
    assert state["exhausted"] == []
    assert manager.handle(arena_id, "alice").budget()["remaining"]["per_agent_tokens"] == 1000


def test_verify_arenas_notices_stored_usage_that_disagrees_with_the_log(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="1")
    report(manager.handle(arena_id, "bob"), cost_usd="0.25")
    call_command("verify_arenas")
    Participant.objects.filter(arena_id=arena_id, agent_id="bob").update(usage={"calls": 9})
    with pytest.raises(CommandError, match="do not match"):
        call_command("verify_arenas")


def test_the_ledger_is_a_fold_over_events(make_arena, manager):
    arena_id = budgeted(make_arena, cost_usd="1")
    bob = manager.handle(arena_id, "bob")
    report(bob, model="gpt-4o", step=2, cost_usd="0.1")
    report(bob, model="mystery", step=2)
    rows = Event.objects.filter(arena_id=arena_id).order_by("seq").values_list("type", "data")
    ledger = usage.replay(rows)
    assert ledger.budget == {"cost_usd": "1.000000"}
    assert ledger.agents["bob"] == ledger.arena == ledger.steps[2]
    assert set(ledger.models) == {"gpt-4o", "mystery"}
    assert aggregate.rebuild(arena_id).usage == ledger.arena


@pytest.mark.parametrize(
    "text",
    ["0", "1", "0.000001", "12.5", "0.123456", "9999999999999.999999", "007.010", "1.1200000"],
)
def test_money_text_reads_as_its_decimal(text):
    """Plain amounts are read without a Decimal, to the same micro-dollars."""
    assert inputs.money(text, "cost_usd") == int(Decimal(text) * inputs.MICRO_PER_USD)
    assert inputs.money(Decimal(text), "cost_usd") == inputs.money(text, "cost_usd")
