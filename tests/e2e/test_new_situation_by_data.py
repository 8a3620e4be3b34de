"""A situation that does not exist in the shipped project — a warranty claim — added by data
alone (tests/e2e/new_situation/: a policy file, NLU examples, a domain file, an opening rule;
no Python), then validated, trained and held as a conversation end to end over REST, with the
ledger row to show for it. This is what a team teaching Makegood a new exception does."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot
from tests.support.servers import Servers, StartError

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NEW = Path(__file__).resolve().parent / "new_situation"
APOLOGY = "I'm sorry it's let you down — that's exactly what the warranty is for."
QUESTION = "What's gone wrong with it: has it stopped working, is it the battery, or is it making a noise?"


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(argv: list[str], what: str, timeout: int) -> str:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The shipped project with the warranty claim's files dropped in where they belong."""
    root = tmp_path_factory.mktemp("warranty")
    for part in ("data", "rasa_project", "policy"):
        shutil.copytree(ROOT / part, root / part)
    for path in NEW.rglob("*.yml"):
        target = root / path.relative_to(NEW)
        assert not target.exists(), f"{target} would overwrite a shipped file"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return root


@pytest.fixture(scope="module")
def model(project: Path) -> Path:
    """Validated the way `make validate` does, then trained the way `make train` does."""
    _run([_bin("makegood"), "project", "check", "--project-root", str(project)], "makegood project check", 120)
    domain, data = project / "rasa_project" / "domain", project / "data"
    config = project / "rasa_project" / "config.yml"
    _run(
        [_bin("rasa"), "data", "validate", "--domain", str(domain), "--data", str(data), "--config", str(config)],
        "rasa data validate",
        600,
    )
    _run(
        [_bin("rasa"), "train", "--domain", str(domain), "--data", str(data), "--config", str(config)]
        + ["--out", str(project / "models"), "--fixed-model-name", "warranty"],
        "rasa train",
        1800,
    )
    return project / "models" / "warranty.tar.gz"


@pytest.fixture(scope="module")
def warranty_bot(project: Path, model: Path, tmp_path_factory):
    work = tmp_path_factory.mktemp("warranty-run")
    servers = Servers(
        workdir=work,
        database_url=f"sqlite:///{work / 'makegood.db'}",
        model=model,
        extra_env={"MAKEGOOD_POLICY_PATH": str(project / "policy")},
    )
    try:
        servers.start()
    except StartError as exc:
        pytest.fail(str(exc))
    try:
        yield Bot(servers.urls["rasa"], servers.database_url, servers.identity_secret)
    finally:
        servers.stop()


def test_project_check_names_the_slot_a_new_fact_needs(project: Path):
    """Without its slot, the new fact is named as missing: `project check` knows what the
    catalog asks and what the domain must hold for it."""
    domain = project / "rasa_project" / "domain" / "warranty_claim.yml"
    text = domain.read_text()
    domain.write_text(text.replace("slots:\n  fault:", "slots:\n  fault_noted:"))
    try:
        done = subprocess.run(
            [_bin("makegood"), "project", "check", "--project-root", str(project)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        domain.write_text(text)
    assert done.returncode == 1
    assert "no slot fault for the fact the case form asks in warranty_claim" in done.stdout + done.stderr


def test_a_warranty_claim_is_heard_asked_offered_and_recorded(warranty_bot: Bot):
    sender = Bot.new_sender("warranty")
    first = warranty_bot.say(sender, "I'd like to make a warranty claim for my headphones, order MG-10442")
    assert APOLOGY in first and QUESTION in first, first  # the catalog's own question, asked by the form

    offered = warranty_bot.say(sender, "they've just stopped working")
    joined = " ".join(offered)
    # A remedy the domain has no response for is said in the catalog's words, never "$0.00".
    assert "1. A free repair under warranty." in offered, offered
    assert "$0.00" not in joined
    [proposal] = [p for p in warranty_bot.proposals(sender) if p.situation == "warranty_claim"]
    assert proposal.status == "offered" and proposal.facts["fault"] == "stopped working"
    assert {o["remedy"] for o in proposal.options_offered} == {"warranty_repair", "replacement"}

    warranty_bot.say(sender, "the free repair please")
    [chosen] = [p for p in warranty_bot.proposals(sender) if p.situation == "warranty_claim"]
    assert chosen.status == "accepted" and chosen.option_chosen["remedy"] == "warranty_repair"
    assert warranty_bot.ledger().verify().ok
