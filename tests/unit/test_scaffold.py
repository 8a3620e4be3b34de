"""A new situation by data: `makegood situation new ID` writes the catalog entry, the NLU file,
the domain file and the opening rule into a copy of the project; `makegood project check`
fails on every TODO it left, names exactly what is missing, and passes on the real project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from makegood.cli import main
from makegood.errors import MakegoodError
from makegood.policy import load_catalog
from makegood.projectcheck import Layout, check_project
from makegood.scaffold import new_situation

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
NEW = "warranty_claim"
OPENING_STEPS = [
    {"intent": NEW},
    {"action": f"utter_{NEW}_apology"},
    {"action": "case_form"},
    {"active_loop": "case_form"},
]


def copy_project(root: Path, policy: Path | None = None) -> Layout:
    shutil.copytree(policy or ROOT / "policy", root / "policy")
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "rasa_project" / "domain", root / "rasa_project" / "domain")
    return Layout.of(root)


@pytest.fixture
def project(tmp_path) -> Layout:
    return copy_project(tmp_path)


def problems(layout: Layout) -> list[str]:
    return [str(p) for p in check_project(load_catalog(layout.policy), layout)]


def files_of(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


# -- the scaffold --------------------------------------------------------------------------------
def test_the_scaffold_writes_the_four_pieces_of_a_situation(project):
    done = new_situation(project, NEW, "a product broke within its warranty")
    root = project.root
    assert [project.show(f) for f in done.files] == [
        f"policy/{NEW}.yml",
        f"data/nlu/{NEW}.yml",
        f"rasa_project/domain/{NEW}.yml",
        f"data/rules/open_{NEW}.yml",
    ]
    catalog = load_catalog(project.policy)  # the new file merges into the policy directory
    situation = catalog.situation(NEW)
    assert situation.description == "a product broke within its warranty"
    assert situation.needs == ()
    assert [r.remedy for r in situation.remedies] == ["goodwill_voucher"]
    assert "# TODO" in (root / "policy" / f"{NEW}.yml").read_text()

    nlu = yaml.safe_load((root / "data" / "nlu" / f"{NEW}.yml").read_text())
    [block] = nlu["nlu"]
    assert block["intent"] == NEW
    assert all("TODO" in line for line in block["examples"].splitlines())

    domain = yaml.safe_load((root / "rasa_project" / "domain" / f"{NEW}.yml").read_text())
    assert domain["intents"] == [NEW]
    assert set(domain["responses"]) == {f"utter_{NEW}_apology", f"utter_{NEW}_clarify"}
    assert all("TODO" in v["text"] for vs in domain["responses"].values() for v in vs)

    rules = yaml.safe_load((root / "data" / "rules" / f"open_{NEW}.yml").read_text())
    [rule] = rules["rules"]
    assert rule["steps"] == OPENING_STEPS
    # The same shape as every shipped opening rule.
    shipped = yaml.safe_load((ROOT / "data" / "rules" / "open_case.yml").read_text())["rules"][0]["steps"]
    assert [list(s) for s in shipped] == [list(s) for s in rule["steps"]]


def test_the_scaffold_starts_from_a_remedy_the_catalog_has(tmp_path):
    layout = copy_project(tmp_path, policy=ROOT / "policy-packs" / "airline")
    new_situation(layout, "missed_connection")
    situation = load_catalog(layout.policy).situation("missed_connection")
    assert len(situation.remedies) == 1


@pytest.mark.parametrize(
    "bad", ["Warranty", "warranty-claim", "1claim", "w", "warranty__claim", "claim_", "_claim", "x" * 50, "a b"]
)
def test_an_id_that_is_not_snake_case_is_refused(project, bad):
    before = files_of(project.root)
    with pytest.raises(MakegoodError, match="snake_case"):
        new_situation(project, bad)
    assert files_of(project.root) == before


def test_an_existing_situation_is_refused_naming_where_it_is(project):
    before = files_of(project.root)
    with pytest.raises(MakegoodError) as refused:
        new_situation(project, "late_delivery")
    message = str(refused.value)
    assert message.startswith("situation 'late_delivery' already exists:")
    for where in (
        "policy/catalog.yml: situations.late_delivery is already in the catalog",
        "data/nlu/late_delivery.yml: the file already exists",
        "rasa_project/domain/late_delivery.yml: intent late_delivery is already declared in the domain",
        "rasa_project/domain/common.yml: response utter_late_delivery_clarify already exists",
        "data/rules/open_case.yml: rule 'open a late delivery case' already opens a late_delivery case",
    ):
        assert where in message
    assert files_of(project.root) == before


def test_scaffolding_twice_is_refused(project):
    new_situation(project, NEW)
    with pytest.raises(MakegoodError, match=f"situation '{NEW}' already exists") as refused:
        new_situation(project, NEW)
    assert f"policy/{NEW}.yml: situations.{NEW} is already in the catalog" in str(refused.value)
    assert f"data/rules/open_{NEW}.yml: the file already exists" in str(refused.value)


def test_a_leftover_piece_alone_is_enough_to_refuse(project):
    (project.domain / f"{NEW}.yml").write_text(f'version: "3.1"\nintents:\n  - {NEW}\n')
    before = files_of(project.root)
    with pytest.raises(MakegoodError) as refused:
        new_situation(project, NEW)
    assert f"rasa_project/domain/{NEW}.yml: intent {NEW} is already declared in the domain" in str(refused.value)
    assert files_of(project.root) == before


def test_a_policy_file_rather_than_a_directory_is_refused(tmp_path):
    layout = copy_project(tmp_path)
    layout = Layout.of(tmp_path, policy=tmp_path / "policy" / "catalog.yml")
    with pytest.raises(MakegoodError, match="not a directory"):
        new_situation(layout, NEW)


def test_a_description_is_one_line_without_todo(project):
    with pytest.raises(MakegoodError, match="one line"):
        new_situation(project, NEW, "two\nlines")
    with pytest.raises(MakegoodError, match="TODO"):
        new_situation(project, NEW, "TODO later")


# -- the project check ---------------------------------------------------------------------------
def test_the_real_project_agrees():
    assert problems(Layout.of(ROOT)) == []


def test_the_scaffold_fails_the_check_naming_every_todo(project):
    new_situation(project, NEW)
    found = problems(project)
    assert f"data/nlu/{NEW}.yml: intent {NEW}: 5 example line(s) are still TODO; write what customers say" in found
    assert (
        f"data/nlu/{NEW}.yml: intent {NEW} has 0 real NLU example(s); "
        f"situation {NEW} (policy/{NEW}.yml) needs at least 5"
    ) in found
    assert f"rasa_project/domain/{NEW}.yml: response utter_{NEW}_apology still has TODO text" in found
    assert f"rasa_project/domain/{NEW}.yml: response utter_{NEW}_clarify still has TODO text" in found
    policy_todos = [p for p in found if p.startswith(f"policy/{NEW}.yml:")]
    assert policy_todos and all("a TODO is left in the policy" in p for p in policy_todos)
    assert any("description" in p for p in policy_todos)
    assert all(NEW in p for p in found)  # nothing about the shipped situations


def fill_in(layout: Layout) -> None:
    """What a team does after the scaffold: real words where the TODOs were."""
    policy = layout.policy / f"{NEW}.yml"
    lines = [line.split("# TODO")[0].rstrip() for line in policy.read_text().splitlines()]
    text = "\n".join(line for line in lines if line.strip()) + "\n"
    policy.write_text(text.replace('"TODO: what went wrong, in one line (warranty claim)"', "a warranty repair"))
    examples = [
        "my kettle stopped working after four months, it's under warranty",
        "the blender broke and it has a two year guarantee",
        "I want to claim on the warranty for my headphones",
        "order MG-10421 is faulty and still under warranty",
        "the warranty should cover this, the screen died",
        "can I get my vacuum repaired under the guarantee?",
    ]
    nlu = {"version": "3.1", "nlu": [{"intent": NEW, "examples": "".join(f"- {e}\n" for e in examples)}]}
    (layout.data / "nlu" / f"{NEW}.yml").write_text(yaml.safe_dump(nlu, sort_keys=False))
    domain = {
        "version": "3.1",
        "intents": [NEW],
        "responses": {
            f"utter_{NEW}_apology": [{"text": "I'm sorry it broke so soon — let's get the warranty sorted."}],
            f"utter_{NEW}_clarify": [{"text": "a repair under warranty"}],
        },
    }
    (layout.domain / f"{NEW}.yml").write_text(yaml.safe_dump(domain, sort_keys=False))


def test_a_filled_in_scaffold_passes(project):
    new_situation(project, NEW)
    fill_in(project)
    assert problems(project) == []
    assert NEW in load_catalog(project.policy).situations


def edit_yaml(path: Path, change) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_missing_apology_is_named(project):
    edit_yaml(project.domain / "late_delivery.yml", lambda d: d["responses"].pop("utter_late_delivery_apology"))
    assert problems(project) == [
        "rasa_project/domain: no response utter_late_delivery_apology for situation late_delivery (policy/catalog.yml)"
    ]


def test_a_missing_clarify_response_is_named(project):
    edit_yaml(project.domain / "common.yml", lambda d: d["responses"].pop("utter_price_drop_clarify"))
    assert problems(project) == [
        "rasa_project/domain: no response utter_price_drop_clarify for situation price_drop (policy/catalog.yml)"
    ]


def test_a_missing_opening_rule_is_named(project):
    def drop(doc):
        doc["rules"] = [r for r in doc["rules"] if r["steps"][0] != {"intent": "fee_dispute"}]

    edit_yaml(project.data / "rules" / "open_case.yml", drop)
    assert problems(project) == [
        "data/rules: no rule opens a fee_dispute case (situation fee_dispute (policy/catalog.yml)): intent "
        "fee_dispute, utter_fee_dispute_apology, case_form, active_loop: case_form (as in data/rules/open_case.yml)"
    ]


def test_a_missing_intent_and_too_few_examples_are_named_all_at_once(project):
    edit_yaml(project.domain / "lost_package.yml", lambda d: d.pop("intents"))

    def keep_three(doc):
        block = doc["nlu"][0]
        block["examples"] = "".join(block["examples"].splitlines(keepends=True)[:3])

    edit_yaml(project.data / "nlu" / "service_outage.yml", keep_three)

    def drop_service_outage(doc):  # other files (data/nlu/registers.yml) add to the intent too
        doc["nlu"] = [b for b in doc["nlu"] if b.get("intent") != "service_outage"]

    for other in sorted((project.data / "nlu").glob("*.yml")):
        if other.name != "service_outage.yml":
            edit_yaml(other, drop_service_outage)
    assert problems(project) == [
        "rasa_project/domain: no intent lost_package is declared for situation lost_package (policy/catalog.yml); "
        "add it under `intents:`",
        "data/nlu/service_outage.yml: intent service_outage has 3 real NLU example(s); "
        "situation service_outage (policy/catalog.yml) needs at least 5",
    ]


def test_an_intent_that_opens_a_case_must_be_in_the_catalog(project):
    rule = {
        "rule": "open a greeting case",
        "steps": [{"intent": "greet"}, {"action": "case_form"}, {"active_loop": "case_form"}],
    }
    (project.data / "rules" / "open_greet.yml").write_text(yaml.safe_dump({"version": "3.1", "rules": [rule]}))
    assert problems(project) == [
        "data/rules/open_greet.yml: rule 'open a greeting case' opens a case (activates case_form) for intent greet, "
        "which is not a situation in the catalog (policy)"
    ]


# -- the commands --------------------------------------------------------------------------------
def test_situation_new_prints_the_files_and_what_to_do_next(project, capsys):
    assert main(["situation", "new", NEW, "--project-root", str(project.root)]) == 0
    out = capsys.readouterr().out
    for written in (f"policy/{NEW}.yml", f"data/nlu/{NEW}.yml", f"rasa_project/domain/{NEW}.yml"):
        assert f"  {written}\n" in out
    assert "make validate" in out and "make train" in out and "TODO" in out


def test_situation_new_refuses_with_one_error_and_exit_2(project, capsys):
    assert main(["situation", "new", "late_delivery", "--project-root", str(project.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("makegood: error: situation 'late_delivery' already exists:")
    assert main(["situation", "new", "Late-Delivery", "--project-root", str(project.root)]) == 2
    assert "snake_case" in capsys.readouterr().err


def test_situation_new_takes_a_policy_dir(tmp_path, capsys):
    layout = copy_project(tmp_path / "project")
    policy = shutil.copytree(ROOT / "policy", tmp_path / "elsewhere")
    argv = ["situation", "new", NEW, "--project-root", str(layout.root), "--policy-dir", str(policy)]
    assert main(argv) == 0
    assert (policy / f"{NEW}.yml").is_file()
    assert not (layout.policy / f"{NEW}.yml").exists()


def test_project_check_command(project, capsys):
    assert main(["project", "check", "--project-root", str(project.root)]) == 0
    assert capsys.readouterr().out == "ok: 12 situations agree across catalog, domain, NLU data and rules\n"
    new_situation(project, NEW)
    with pytest.raises(SystemExit) as failed:
        main(["project", "check", "--project-root", str(project.root)])
    assert failed.value.code == 1
    out = capsys.readouterr().out
    assert "problem(s): catalog, domain, NLU data and rules disagree" in out
    assert f"  rasa_project/domain/{NEW}.yml: response utter_{NEW}_apology still has TODO text" in out
