"""`action_clarify_situation`: two close situations get a question with two buttons whose
payloads open the right case; anything else gets "say more", never a guessed case."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.clarify import ActionClarifySituation, candidates_of
from makegood.policy import load_catalog
from tests.actions.conftest import ROOT, render, run

pytestmark = pytest.mark.actions


def clarify_tracker(latest: dict) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "conv-clarify",
            "slots": {},
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
            "latest_message": {"text": "it never showed up", "entities": [], **latest},
            "events": [{"event": "user", "text": "it never showed up", "parse_data": latest}],
        }
    )


def test_two_close_situations_get_a_question_with_a_button_each(services, domain):
    trk = clarify_tracker(
        {
            "intent": {"name": "clarify_situation", "confidence": 0.8},
            "clarify_situation": {"candidates": ["late_delivery", "lost_package"], "confidences": [0.41, 0.39]},
        }
    )
    messages, events = run(ActionClarifySituation(), trk, domain)
    # The two are remembered, so a typed answer ("the first one") counts as much as a click.
    assert events == [
        {"event": "slot", "name": "clarify_options", "timestamp": None, "value": ["late_delivery", "lost_package"]}
    ]
    assert len(messages) == 1
    message = messages[0]
    assert message["response"] == "utter_clarify_situation"
    assert [b["payload"] for b in message["buttons"]] == ["/late_delivery", "/lost_package"]
    assert message["buttons"][1]["title"] == "A parcel marked delivered that never came"
    text = render(messages, domain)[0]
    assert "running late" in text and "marked delivered that never came" in text
    assert "{" not in text and "sorry" not in text.lower()


SITUATION_IDS = load_catalog(ROOT / "policy").situation_ids  # the one list of situations: the catalog's


def test_every_situation_has_words_for_the_question(domain):
    for situation in SITUATION_IDS:
        assert domain["responses"].get(f"utter_{situation}_clarify"), situation


def test_candidates_fall_back_to_the_ranking_and_ignore_what_is_not_a_situation():
    latest = {
        "intent_ranking": [
            {"name": "clarify_situation"},
            {"name": "greet"},
            {"name": "billing_error"},
            {"name": "fee_dispute"},
            {"name": "price_drop"},
        ]
    }
    assert candidates_of(latest, SITUATION_IDS) == ["billing_error", "fee_dispute"]
    forged = {"clarify_situation": {"candidates": ["restart", "billing_error", "billing_error"]}}
    assert candidates_of(forged, SITUATION_IDS) == ["billing_error"]


@pytest.mark.parametrize(
    "latest",
    [
        {"intent": {"name": "clarify_situation"}},
        {"clarify_situation": {"candidates": ["damaged_item"]}},
    ],
)
def test_without_two_candidates_the_customer_is_asked_to_say_more(services, domain, latest):
    messages, events = run(ActionClarifySituation(), clarify_tracker(latest), domain)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert events == []


def test_candidates_are_whatever_the_catalog_declares():
    """Any pack's situations, not a fixed list: an airline pack's ids are candidates, retail ids are not."""
    airline = load_catalog(ROOT / "policy-packs" / "airline").situation_ids
    latest = {"clarify_situation": {"candidates": ["flight_delay", "damaged_item", "flight_cancellation"]}}
    assert candidates_of(latest, airline) == ["flight_delay", "flight_cancellation"]
