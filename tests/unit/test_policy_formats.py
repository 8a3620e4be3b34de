"""The catalog format, one test (or a few) per gap found when outside policy owners encoded a
retailer's, a bank's and an airline's decisions. Each catalog here is small and written out, so a
test reads as the policy it checks."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from makegood.errors import CaseError, PolicyError
from makegood.policy import SITUATIONS, Case, Tier, check, load_catalog, options, parse_catalog

pytestmark = pytest.mark.unit

SS, AGENT, PEER, SUP, MGR = Tier.SELF_SERVICE, Tier.AGENT, Tier.PEER, Tier.SUPERVISOR, Tier.MANAGER
ALL_TIERS = "{self_service: {}, agent: {}, peer: {}, supervisor: {}, manager: {}}"

BASE = """
label: test
facts:
  passengers: {type: count, default: 1}
  fare: {type: money}
  colour: {type: enum, values: [Navy Blue, Forest Green, "no"]}
  delay_hours: {type: hour}
  tenure_months: {type: month}
  hardship: {type: enum, values: [bereavement, illness]}
  fee: {type: money}
  at_fault: {type: bool, default: false}
  waived_before: {type: count}
  recent_exceptions: {type: count, default: 0}
remedies:
  refund: {kind: money}
  compensation: {kind: money}
  promo_code: {kind: item, description: a code for 10% off the next order}
  rebooking: {kind: none}
  extension: {kind: days}
"""


def catalog_of(situations: str, extra: str = "", source: str = "t.yml"):
    return parse_catalog(
        textwrap.dedent(BASE)
        + textwrap.dedent(extra)
        + "situations:\n"
        + textwrap.indent(textwrap.dedent(situations), "  "),
        source=source,
    )


def refused(situations: str, extra: str = "") -> str:
    with pytest.raises(PolicyError) as caught:
        catalog_of(situations, extra)
    message = str(caught.value)
    assert message.startswith("t.yml") and "\n" not in message, message
    return message


def offers(catalog, situation, tier, facts):
    result = options(catalog, Case.build(catalog, situation, facts), tier)
    return [(o.remedy, o.size, o.rule) for o in result.offers], result


FEE = """
fee_review:
  remedies:
    - remedy: refund
      amount: {fact: fee}
      caps: {self_service: {max_amount: 50}, agent: {max_amount: 100}, peer: {max_amount: 100},
             supervisor: {max_amount: 500}, manager: {max_amount: 1000}}
"""


# -- 1. the catalog is the one list of situations ---------------------------------------------------
def test_any_well_formed_situation_id_is_accepted_and_none_is_required():
    catalog = catalog_of(FEE)
    assert catalog.situation_ids == ("fee_review",)
    assert "fee_review" not in SITUATIONS  # not one of the retail ids, and still fine


@pytest.mark.parametrize("sid", ["Fee_Review", "9lives", "x", "fee-review", "a" * 50])
def test_a_malformed_situation_id_is_refused_with_its_path(sid):
    message = refused(FEE.replace("fee_review:", f"{sid!r}:"))
    assert f"situations.{sid}: a situation id is" in message


def test_the_retail_catalog_lists_its_own_situations():
    catalog = load_catalog(Path(__file__).parents[2] / "policy")
    assert set(catalog.situation_ids) == set(SITUATIONS)  # SITUATIONS stays the retail catalog's ids


# -- 2. enum values whatever the case; yes/no never become booleans ---------------------------------
PAINT = """
repaint:
  remedies:
    - remedy: refund
      amount: {fixed: 10}
      when: [{fact: colour, in: [navy blue, "No"]}]
      caps: {self_service: {max_amount: 10}, agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def test_enum_values_match_whatever_the_case_and_keep_the_catalogs_spelling():
    catalog = catalog_of(PAINT)
    assert Case.build(catalog, "repaint", {"colour": "navy blue"}).get("colour") == "Navy Blue"
    assert Case.build(catalog, "repaint", {"colour": " NAVY  BLUE "}).get("colour") == "Navy Blue"
    assert offers(catalog, "repaint", SS, {"colour": "Navy Blue"})[0] == [("refund", Decimal(10), "repaint.refund")]
    assert offers(catalog, "repaint", SS, {"colour": "forest green"})[0] == []
    with pytest.raises(CaseError, match="must be one of Navy Blue, Forest Green, no, got 'teal'"):
        Case.build(catalog, "repaint", {"colour": "teal"})


def test_yaml_no_stays_text_for_an_enum():
    catalog = catalog_of(PAINT)
    assert catalog.facts["colour"].values == ("Navy Blue", "Forest Green", "no")
    assert offers(catalog, "repaint", SS, {"colour": "no"})[0] == [("refund", Decimal(10), "repaint.refund")]
    unquoted = catalog_of(PAINT.replace('"No"', "no"))  # a bare `no` is the word no, not false
    assert unquoted.situations["repaint"].remedies[0].when[0].operand == ("Navy Blue", "no")


def test_a_boolean_where_an_enum_is_expected_is_an_error_naming_the_key():
    message = refused(PAINT.replace('in: [navy blue, "No"]', "is: true"))
    assert "situations.repaint.remedies[0].when[0].is: fact 'colour' is one of" in message
    with pytest.raises(CaseError, match="fact colour must be one of"):
        Case.build(catalog_of(PAINT), "repaint", {"colour": True})


def test_yes_for_a_bool_fact_is_an_error_not_true():
    message = refused(PAINT.replace('{fact: colour, in: [navy blue, "No"]}', "{fact: at_fault, is: yes}"))
    assert "when[0].is: fact 'at_fault' is true or false, got 'yes'" in message


def test_enum_values_that_differ_only_in_case_are_refused():
    with pytest.raises(PolicyError, match=r"t.yml: facts.colour.values: 'Navy Blue' is listed twice"):
        parse_catalog(
            textwrap.dedent(BASE).replace("[Navy Blue,", "[Navy Blue, navy blue,")
            + "situations:\n"
            + textwrap.indent(textwrap.dedent(FEE), "  "),
            source="t.yml",
        )


# -- 3. present / absent ----------------------------------------------------------------------------
HARDSHIP = """
closure_fee:
  remedies:
    - remedy: refund
      id: closure_fee.hardship_waiver
      amount: {fact: fee}
      when: [{fact: hardship, present: true, reason: a hardship waiver needs the hardship on file}]
      caps: {self_service: {max_amount: 100}, agent: {}, peer: {}, supervisor: {}, manager: {}}
    - remedy: rebooking
      id: closure_fee.explain
      when: [{fact: hardship, absent: true}]
      caps: {self_service: {}, agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def test_present_and_absent_are_never_missing():
    catalog = catalog_of(HARDSHIP)
    given, result = offers(catalog, "closure_fee", SS, {"fee": 40, "hardship": "illness"})
    assert given == [("refund", Decimal(40), "closure_fee.hardship_waiver")]
    not_given, result = offers(catalog, "closure_fee", SS, {"fee": 40})
    assert not_given == [("rebooking", None, "closure_fee.explain")]
    assert result.missing_facts == ()  # hardship is not asked for: its absence is the answer


def test_present_needs_true_or_false():
    assert "present: expected true or false" in refused(HARDSHIP.replace("present: true", "present: maybe"))


# -- 4. remedies with no money size -----------------------------------------------------------------
ITEMS = """
bad_experience:
  remedies:
    - remedy: promo_code
      caps: {self_service: {max_recent_exceptions: 1}, agent: {}, peer: {}, supervisor: {}, manager: {}}
    - remedy: rebooking
      caps: {agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def test_item_and_none_remedies_have_no_size_and_no_dollars():
    catalog = catalog_of(ITEMS)
    given, result = offers(catalog, "bad_experience", SS, {})
    assert given == [("promo_code", None, "bad_experience.promo_code")]
    assert [(o.remedy, o.size, o.required_tier) for o in result.beyond] == [("rebooking", None, AGENT)]
    shown = result.offers[0].as_json()
    assert shown["size"] is None and shown["kind"] == "item"
    assert "$" not in repr(shown) and "0.00" not in shown["size"].__repr__()
    assert result.offers[0].cost == Decimal("0.00")  # cost_factor defaults to 0 for a sizeless remedy


def test_check_a_sizeless_remedy():
    catalog = catalog_of(ITEMS)
    case = Case.build(catalog, "bad_experience", {})
    assert check(catalog, case, "promo_code", None, SS).allowed
    verdict = check(catalog, case, "rebooking", None, SS)
    assert verdict.status == "needs_tier" and verdict.required_tier == AGENT
    with pytest.raises(CaseError, match="promo_code has no size"):
        check(catalog, case, "promo_code", "10", SS)
    busy = Case.build(catalog, "bad_experience", {"recent_exceptions": 1})
    assert check(catalog, busy, "promo_code", None, AGENT).allowed
    assert check(catalog, busy, "promo_code", None, SS).status == "needs_tier"


def test_a_sizeless_remedy_may_not_carry_an_amount_or_a_money_cap():
    assert "promo_code is an item remedy: it has no size; remove `amount`" in refused(
        ITEMS.replace("- remedy: promo_code", "- remedy: promo_code\n      amount: {fixed: 10}")
    )
    assert "unknown key 'max_amount'" in refused(ITEMS.replace("max_recent_exceptions: 1", "max_amount: 5"))


def test_a_plan_is_recognised_by_its_kind_not_its_name():
    extra = """
    payment_plans: {min_weekly: 10, max_weeks: {self_service: 12}, max_debt: {self_service: 1000}}
    """
    catalog = parse_catalog(
        textwrap.dedent(BASE).replace(
            "  extension: {kind: days}", "  extension: {kind: days}\n  arrangement: {kind: plan}"
        )
        + textwrap.dedent(extra)
        + textwrap.dedent("""
    situations:
      arrears:
        remedies:
          - remedy: arrangement
            amount: {fact: fee}
            caps: {self_service: {}, agent: {}, peer: {}, supervisor: {}, manager: {}}
    """),
        source="t.yml",
    )
    given, _ = offers(catalog, "arrears", SS, {"fee": 600})
    assert given == [("arrangement", Decimal(600), "arrears.arrangement")]
    assert offers(catalog, "arrears", SS, {"fee": 1500})[0] == []  # over self_service's max_debt
    no_plans = textwrap.dedent(BASE).replace(
        "  extension: {kind: days}", "  extension: {kind: days}\n  arrangement: {kind: plan}"
    )
    with pytest.raises(PolicyError, match="no payment_plans section"):
        parse_catalog(
            no_plans + "situations:\n  arrears:\n    remedies:\n      - remedy: arrangement\n"
            "        amount: {fact: fee}\n        caps: " + ALL_TIERS + "\n",
            source="t.yml",
        )


# -- 5. a unit amount times a count ------------------------------------------------------------------
PER = """
delay:
  remedies:
    - remedy: compensation
      amount: {fixed: 250, per: passengers}
      caps: {self_service: {max_amount: 600}, agent: {max_amount: 2000}, peer: {max_amount: 2000},
             supervisor: {max_amount: 5000}, manager: {max_amount: 10000}}
    - remedy: refund
      amount: {fact: fare, per: passengers}
      caps: {self_service: {max_amount: 1000}, agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def test_amount_per_passenger():
    catalog = catalog_of(PER)
    given, result = offers(catalog, "delay", SS, {"passengers": 2, "fare": "180.50"})
    assert given == [
        ("compensation", Decimal(500), "delay.compensation"),
        ("refund", Decimal("361.00"), "delay.refund"),
    ]
    given, result = offers(catalog, "delay", SS, {"passengers": 3, "fare": 100})
    assert given == [("refund", Decimal(300), "delay.refund")]
    assert [(o.remedy, o.size, o.required_tier) for o in result.beyond] == [("compensation", Decimal(750), AGENT)]


def test_per_needs_a_whole_number_fact():
    assert "per: fact 'fare' is a money; `per` needs a whole number" in refused(
        PER.replace(
            "per: passengers}\n      caps: {self_service: {max_amount: 600}",
            "per: fare}\n      caps: {self_service: {max_amount: 600}",
        )
    )


# -- 6. month and hour ------------------------------------------------------------------------------
def test_month_and_hour_are_bounded_whole_numbers():
    catalog = catalog_of(FEE)
    case = Case.build(catalog, "fee_review", {"delay_hours": "26", "tenure_months": 18})
    assert case.get("delay_hours") == 26 and case.get("tenure_months") == 18
    with pytest.raises(CaseError, match="delay_hours must be a whole number"):
        Case.build(catalog, "fee_review", {"delay_hours": "2.5"})
    with pytest.raises(CaseError, match="tenure_months must be between 0 and 1200"):
        Case.build(catalog, "fee_review", {"tenure_months": 5000})
    with pytest.raises(CaseError, match="delay_hours must be between 0 and 87600"):
        Case.build(catalog, "fee_review", {"delay_hours": 10**6})


def test_month_and_hour_take_number_conditions():
    catalog = catalog_of(
        FEE.replace("amount: {fact: fee}", "amount: {fact: fee}\n      when: [{fact: tenure_months, min: 12}]")
    )
    assert offers(catalog, "fee_review", SS, {"fee": 20, "tenure_months": 12})[0]
    assert offers(catalog, "fee_review", SS, {"fee": 20, "tenure_months": 11})[0] == []


# -- 7. a handoff per situation ---------------------------------------------------------------------
def test_a_situations_own_handoff_is_used_when_nothing_fits():
    catalog = catalog_of(
        FEE.replace(
            "fee_review:\n",
            "fee_review:\n  handoff: {tier: supervisor, reason: a fee review beyond policy goes to the fees team}\n",
        )
    )
    _, result = offers(catalog, "fee_review", SS, {"fee": 5000})
    assert result.handoff.tier == SUP and result.handoff.reason == "a fee review beyond policy goes to the fees team"
    short = catalog_of(FEE.replace("fee_review:\n", "fee_review:\n  handoff_tier: peer\n"))
    assert offers(short, "fee_review", SS, {"fee": 5000})[1].handoff.tier == PEER
    # Something a higher tier can approve still goes to that tier.
    assert offers(catalog, "fee_review", SS, {"fee": 80})[1].handoff.tier == AGENT
    verdict = check(catalog, Case.build(catalog, "fee_review", {"fee": 5000}), "refund", None, SS)
    assert verdict.status == "outside_policy" and verdict.handoff.tier == SUP


def test_handoff_names_a_real_tier():
    assert "handoff.tier: unknown tier 'boss'" in refused(
        FEE.replace("fee_review:\n", "fee_review:\n  handoff: {tier: boss}\n")
    )


# -- 8. a directory of policy files; duplicate keys -------------------------------------------------
def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_policy_directory_is_merged(tmp_path):
    _write(tmp_path, "a_facts.yml", "label: split\nfacts:\n  fee: {type: money}\n")
    _write(tmp_path, "b_remedies.yaml", "remedies:\n  refund: {kind: money}\n")
    _write(tmp_path, "c_situations.yml", "situations:\n" + textwrap.indent(textwrap.dedent(FEE), "  "))
    _write(tmp_path, "notes.txt", "not policy")
    catalog = load_catalog(tmp_path)
    assert catalog.situation_ids == ("fee_review",) and catalog.label == "split"
    assert offers(catalog, "fee_review", SS, {"fee": 20})[0] == [("refund", Decimal(20), "fee_review.refund")]


def test_the_same_situation_in_two_files_names_both(tmp_path):
    _write(tmp_path, "base.yml", textwrap.dedent(BASE) + "situations:\n" + textwrap.indent(textwrap.dedent(FEE), "  "))
    _write(tmp_path, "more.yml", "situations:\n" + textwrap.indent(textwrap.dedent(FEE), "  "))
    with pytest.raises(PolicyError) as caught:
        load_catalog(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path / 'more.yml'}: situations.fee_review: already defined in "
        f"{tmp_path / 'base.yml'}; define each situation in one file only"
    )


def test_an_error_in_a_directory_names_the_file_it_is_in(tmp_path):
    _write(tmp_path, "base.yml", textwrap.dedent(BASE))
    _write(
        tmp_path,
        "fees.yml",
        "situations:\n" + textwrap.indent(textwrap.dedent(FEE).replace("fact: fee}", "fact: fees}"), "  "),
    )
    with pytest.raises(
        PolicyError, match=r"fees\.yml: situations\.fee_review\.remedies\[0\]\.amount\.fact: unknown fact 'fees'"
    ):
        load_catalog(tmp_path)


def test_a_duplicate_key_in_one_mapping_names_file_and_line():
    text = textwrap.dedent(BASE).replace("  fee: {type: money}\n", "  fee: {type: money}\n  fee: {type: count}\n")
    line = text.split("\n").index("  fee: {type: count}") + 1
    with pytest.raises(PolicyError) as caught:
        parse_catalog(text + "situations:\n" + textwrap.indent(textwrap.dedent(FEE), "  "), source="dup.yml")
    assert str(caught.value).startswith(
        f"dup.yml (line {line}, column 3): not valid YAML: duplicate key 'fee' (first given on line {line - 1})"
    )


# -- 9. every amount bounded ------------------------------------------------------------------------
@pytest.mark.parametrize("written", ["1e26", "1.0e+26", "1000000.01"])
def test_an_absurd_amount_is_refused_with_its_path(written):
    message = refused(FEE.replace("manager: {max_amount: 1000}", f"manager: {{max_amount: {written}}}"))
    assert "situations.fee_review.remedies[0].caps.manager.max_amount: " in message and "beyond any amount" in message


def test_an_absurd_fixed_amount_never_reaches_check():
    message = refused(PER.replace("fixed: 250", "fixed: 1e26"))
    assert "situations.delay.remedies[0].amount.fixed: 1e26 is beyond any amount" in message


# -- 10. three-valued rule selection ----------------------------------------------------------------
SELECT = """
fee_review:
  remedies:
    - remedy: refund
      id: fee_review.first_time
      amount: {fact: fee}
      when: [{fact: at_fault, is: false}, {fact: waived_before, max: 0}]
      caps: {self_service: {max_amount: 50}, agent: {}, peer: {}, supervisor: {}, manager: {}}
    - remedy: compensation
      amount: {fixed: 10}
      caps: {self_service: {max_amount: 10}, agent: {}, peer: {}, supervisor: {}, manager: {}}
"""


def test_a_rule_that_already_fails_does_not_ask_for_its_missing_facts():
    catalog = catalog_of(SELECT)
    given, result = offers(catalog, "fee_review", SS, {"fee": 30, "at_fault": True})
    assert given == [("compensation", Decimal(10), "fee_review.compensation")]
    assert result.missing_facts == () and result.next_step == "offer"
    assert [b.rule for b in result.blocked] == ["fee_review.first_time"]


def test_a_rule_that_could_still_apply_asks_only_for_what_it_lacks():
    catalog = catalog_of(SELECT)
    _, result = offers(catalog, "fee_review", SS, {"fee": 30})
    assert result.missing_facts == ("waived_before",)


def test_a_rule_no_tier_may_grant_this_customer_asks_for_nothing():
    capped = SELECT.replace(
        "caps: {self_service: {max_amount: 50}, agent: {}, peer: {}, supervisor: {}, manager: {}}",
        "caps: {self_service: {max_recent_exceptions: 1}, agent: {max_recent_exceptions: 1}, "
        "peer: {max_recent_exceptions: 1}, supervisor: {max_recent_exceptions: 1}, "
        "manager: {max_recent_exceptions: 1}}",
    )
    catalog = catalog_of(capped)
    _, result = offers(catalog, "fee_review", SS, {"recent_exceptions": 1})  # fee and waived_before unknown
    assert result.missing_facts == ()
    assert [o.remedy for o in result.offers] == ["compensation"]


def test_check_answers_outside_policy_for_a_remedy_the_situation_lacks_whatever_is_missing():
    needs_fee = "fee_review:\n  needs: [fee]\n  asks: {fee: 'How much was the fee?'}\n"
    catalog = catalog_of(SELECT.replace("fee_review:\n", needs_fee))
    verdict = check(catalog, Case.build(catalog, "fee_review", {}), "promo_code", None, SS)
    assert verdict.status == "outside_policy" and verdict.rules == ("fee_review.remedies",)
