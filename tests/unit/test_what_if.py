"""`makegood policy what-if` on the seeded ledger (tests/support/seeded_ledger.py), counted by hand.

The tightened catalog is policy/catalog.yml with one cap changed: the bot's partial refund on a
damaged item goes from $25 to $15. Replayed at the tier each ask met first:

- P1 (the bot, $20 asked): allowed -> needs an agent. Cost on the spot: $20 -> $0; still $20 to whoever
  grants it.
- P6 (the bot, nothing asked: its first offer): the partial refund offered at the bot's cap, $25 -> $15.
- P2 ($60, needs a peer), P3 ($40, needs an agent), P4 (shipping $12), P5 (alice's $60 credit): unchanged.

Cost granted on the spot (allowed answers): before 20 + 7.20 (P4: $12 x 0.6) + 25 = 52.20, after
7.20 + 15 = 22.20: -30.00. Grantable by someone (allowed or needs a tier): before 20 + 60 + 40 + 7.20
+ 36 (P5: $60 x 0.6) + 25 = 188.20, after 178.20: -10.00.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from makegood.cli import main
from makegood.errors import PolicyError
from makegood.ledger import Ledger
from makegood.policy import load_catalog
from makegood.services import what_if
from tests.support.seeded_ledger import seed

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
BOT_CAP = "self_service: {max_amount: 25, max_percent: 30}"  # damaged_item.partial_refund
EXAMPLE = ROOT / "docs" / "examples" / "what-if-tighter-damage"


def policy_with(tmp_path: Path, old: str, new: str, name: str) -> Path:
    source = (ROOT / "policy" / "catalog.yml").read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must appear once in policy/catalog.yml"
    directory = tmp_path / name
    directory.mkdir()
    (directory / "catalog.yml").write_text(source.replace(old, new), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def baseline():
    return load_catalog(ROOT / "policy")


@pytest.fixture
def ledger_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def seeded(ledger_url, baseline):
    ledger = Ledger.from_url(ledger_url)
    ids = seed(ledger, baseline.version)
    yield ledger, ids
    ledger.dispose()


@pytest.fixture
def tighter(tmp_path):
    return policy_with(tmp_path, BOT_CAP, "self_service: {max_amount: 15, max_percent: 30}", "tighter")


def test_tightening_one_cap_changes_exactly_two_answers(seeded, baseline, tighter):
    ledger, ids = seeded
    head = ledger.head()
    result = what_if.compare(ledger, baseline, load_catalog(tighter))

    assert result.cases == 6
    assert result.unjudged == 0
    assert result.changed_count == 2
    assert result.by_kind == {"allowed → needs_tier": 1, "different amount": 1}
    assert result.cost["in_authority"] == {
        "before": Decimal("52.20"),
        "after": Decimal("22.20"),
        "delta": Decimal("-30.00"),
    }
    assert result.cost["grantable"] == {
        "before": Decimal("188.20"),
        "after": Decimal("178.20"),
        "delta": Decimal("-10.00"),
    }
    assert result.drivers == {
        "damaged_item.partial_refund.caps.self_service.max_amount": 1,
        "damaged_item.partial_refund.caps.self_service": 1,
    }
    by_id = {c.public_id: c for c in result.changed}
    assert set(by_id) == {ids["P1"], ids["P6"]}
    p1, p6 = by_id[ids["P1"]], by_id[ids["P6"]]
    assert (p1.before.status, p1.before.tier, p1.before.size) == ("allowed", "self_service", "20.00")
    assert (p1.after.status, p1.after.tier, p1.after.size) == ("needs_tier", "agent", "20.00")
    assert p1.asked == {"remedy": "partial_refund", "size": "20.00"}
    assert (p6.before.remedy, p6.before.size, p6.after.size) == ("partial_refund", "25.00", "15.00")
    assert (p6.before.cost, p6.after.cost) == (Decimal("25.00"), Decimal("15.00"))
    assert p6.asked is None
    # Same engine, no writes: the audit chain has not moved.
    assert ledger.head() == head


def test_the_same_catalog_changes_nothing(seeded, baseline):
    ledger, _ids = seeded
    result = what_if.compare(ledger, baseline, load_catalog(ROOT / "policy"))
    assert result.cases == 6
    assert result.changed == []
    assert result.cost["grantable"]["delta"] == Decimal("0.00")
    assert result.as_json()["changed"] == []


def test_since_replays_only_the_later_cases(seeded, baseline, tighter):
    ledger, ids = seeded
    result = what_if.compare(ledger, baseline, load_catalog(tighter), since=date(2026, 11, 9))
    assert result.cases == 3  # P4, P5, P6
    assert [c.public_id for c in result.changed] == [ids["P6"]]
    assert result.cost["in_authority"]["delta"] == Decimal("-10.00")


def test_a_catalog_without_the_situation_cannot_judge_those_cases(seeded, baseline):
    ledger, _ids = seeded
    airline = load_catalog(ROOT / "policy-packs" / "airline")
    result = what_if.compare(ledger, baseline, airline)
    assert result.changed_count == 6
    assert result.by_kind == {"allowed → cannot_judge": 3, "needs_tier → cannot_judge": 3}
    assert all("unknown situation" in c.after.reason for c in result.changed)


def test_an_invalid_catalog_gets_the_validators_own_error(tmp_path):
    broken = policy_with(tmp_path, BOT_CAP, "self_service: {max_amount: 100, max_percent: 30}", "broken")
    with pytest.raises(PolicyError) as raised:
        what_if.load_candidate(broken)
    assert "situations.damaged_item.remedies[1].caps: max_amount: agent (75) is below self_service (100)" in str(
        raised.value
    )


def test_an_empty_ledger_says_so(ledger_url, baseline, tighter):
    ledger = Ledger.from_url(ledger_url)
    result = what_if.compare(ledger, baseline, load_catalog(tighter))
    ledger.dispose()
    assert result.empty
    assert result.changed == []
    assert result.notes == ["The ledger has no recorded cases: there is nothing to replay."]


# -- the command --------------------------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, ledger_url):
    monkeypatch.setenv("MAKEGOOD_DATABASE_URL", ledger_url)
    monkeypatch.setenv("MAKEGOOD_POLICY_PATH", str(ROOT / "policy"))


def test_the_command_prints_the_comparison(env, seeded, tighter, capsys):
    _ledger, ids = seeded
    assert main(["policy", "what-if", str(tighter)]) == 0
    out = capsys.readouterr().out
    assert "6 cases replayed; 2 answers change" in out
    assert "cost granted on the spot: $52.20 → $22.20 (-$30)" in out
    assert ids["P1"] in out and ids["P6"] in out


def test_the_command_as_json(env, seeded, tighter, capsys):
    _ledger, ids = seeded
    assert main(["policy", "what-if", str(tighter), "--json", "--since", "2026-11-01"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["changed_count"] == 2
    assert sorted(c["id"] for c in data["changed"]) == sorted([ids["P1"], ids["P6"]])
    assert data["cost"]["in_authority"] == {"before": "52.20", "after": "22.20", "delta": "-30.00"}
    assert main(["policy", "what-if", str(ROOT / "policy"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changed"] == []


def test_the_command_on_an_invalid_catalog_or_date(env, seeded, tmp_path, capsys):
    broken = policy_with(tmp_path, BOT_CAP, "self_service: {max_amount: 100, max_percent: 30}", "broken")
    assert main(["policy", "what-if", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("makegood: error: ")
    assert "max_amount: agent (75) is below self_service (100); a higher tier never has less authority" in err
    assert main(["policy", "what-if", str(tmp_path / "nowhere")]) == 2
    assert "policy catalog not found" in capsys.readouterr().err
    assert main(["policy", "what-if", str(ROOT / "policy"), "--since", "last week"]) == 2
    assert "--since must be a date written YYYY-MM-DD, got 'last week'" in capsys.readouterr().err


def test_the_command_on_an_empty_ledger(env, ledger_url, tighter, capsys):
    Ledger.from_url(ledger_url).dispose()
    assert main(["policy", "what-if", str(tighter)]) == 0
    assert "The ledger has no recorded cases: there is nothing to replay." in capsys.readouterr().out


def test_the_readme_example_tightens_only_that_cap():
    """docs/examples/what-if-tighter-damage is policy/catalog.yml with the bot's damaged-item partial
    refund cap lowered to $15, nothing else (the README runs it)."""
    source = (ROOT / "policy" / "catalog.yml").read_text(encoding="utf-8")
    example = (EXAMPLE / "catalog.yml").read_text(encoding="utf-8")
    example = example[example.index(source.splitlines()[0]) :]  # after the example's own header
    assert example == source.replace(BOT_CAP, "self_service: {max_amount: 15, max_percent: 30}")
