"""`makegood situation new ID`: the four pieces of a new situation, with TODOs where words are needed.

A team teaches the bot a new exception by data alone: a catalog entry (a new file in the
policy directory), the intent's NLU examples, a domain file with the intent and its two
responses, and the rule that opens the case. The scaffold writes all four, refusing an id
that is not snake_case or that already exists anywhere; `makegood project check` (run by
`make validate`) fails until every TODO is filled in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from makegood.errors import MakegoodError
from makegood.policy import Catalog, Tier, load_catalog
from makegood.policy.model import SIZELESS_KINDS
from makegood.projectcheck import MIN_EXAMPLES, TODO, Layout, read_project, situation_files

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
MAX_ID = 49  # the catalog's limit on a situation id
MAX_DESCRIPTION = 200
PREFERRED_REMEDY = "goodwill_voucher"


@dataclass(frozen=True)
class Scaffolded:
    situation: str
    files: tuple[Path, ...]


def targets(layout: Layout, sid: str) -> dict[str, Path]:
    return {
        "catalog": layout.policy / f"{sid}.yml",
        "nlu": layout.data / "nlu" / f"{sid}.yml",
        "domain": layout.domain / f"{sid}.yml",
        "rule": layout.data / "rules" / f"open_{sid}.yml",
    }


def check_id(sid: str) -> None:
    if not SNAKE_CASE.match(sid) or not 2 <= len(sid) <= MAX_ID:
        raise MakegoodError(
            f"a situation id is snake_case: 2 to {MAX_ID} lower-case letters and digits in words joined "
            f"by single underscores, starting with a letter (e.g. warranty_claim), got {sid!r}"
        )


def check_description(description: str | None) -> str | None:
    if description is None:
        return None
    text = description.strip()
    if not text or "\n" in text or "\r" in text or len(text) > MAX_DESCRIPTION:
        raise MakegoodError(f"--description is one line of 1 to {MAX_DESCRIPTION} characters, got {description!r}")
    if TODO in text:
        raise MakegoodError("--description must not contain TODO (make validate fails on every TODO)")
    return text


def existing(catalog: Catalog, layout: Layout, sid: str) -> list[str]:
    """Everything named `sid` (or its responses, its files) that already exists, and where."""
    show = layout.show
    found = []
    if sid in catalog.situations:
        where = situation_files(layout.policy).get(sid, layout.policy)
        found.append(f"{show(where)}: situations.{sid} is already in the catalog")
    for path in targets(layout, sid).values():
        if path.exists():
            found.append(f"{show(path)}: the file already exists")
    project = read_project(layout)
    if sid in project.intents:
        found.append(f"{show(project.intents[sid])}: intent {sid} is already declared in the domain")
    for path in sorted({p for p, _ in project.examples.get(sid, [])}):
        found.append(f"{show(path)}: intent {sid} already has NLU examples")
    for purpose in ("apology", "clarify"):
        name = f"utter_{sid}_{purpose}"
        if name in project.responses:
            found.append(f"{show(project.responses[name][0])}: response {name} already exists")
    for opening in project.openings:
        if opening.intent == sid:
            found.append(f"{show(opening.file)}: {opening.kind} '{opening.name}' already opens a {sid} case")
    return found


def new_situation(layout: Layout, sid: str, description: str | None = None) -> Scaffolded:
    """Write the four files of situation `sid` (see the module docstring); returns what was written."""
    check_id(sid)
    description = check_description(description)
    if not layout.policy.is_dir():
        raise MakegoodError(
            f"{layout.show(layout.policy)}: the policy path is not a directory; a new situation is written "
            "as a new file of a policy directory (pass --policy-dir DIR)"
        )
    if layout.domain.exists() and not layout.domain.is_dir():
        raise MakegoodError(
            f"{layout.show(layout.domain)}: the domain is not a directory; expected one file per situation"
        )
    catalog = load_catalog(layout.policy)
    found = existing(catalog, layout, sid)
    if found:
        raise MakegoodError(f"situation {sid!r} already exists:\n  " + "\n  ".join(found))
    files = targets(layout, sid)
    texts = {
        "catalog": catalog_text(catalog, sid, description),
        "nlu": nlu_text(sid, description),
        "domain": domain_text(sid, description),
        "rule": rule_text(sid),
    }
    written: list[Path] = []
    try:
        for key, path in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as handle:  # never overwrite, even in a race
                handle.write(texts[key])
            written.append(path)
        load_catalog(layout.policy)  # the scaffold itself is a valid catalog
    except (MakegoodError, OSError) as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise MakegoodError(f"cannot scaffold situation {sid!r}: {exc}") from None
    return Scaffolded(sid, tuple(written))


def _words(sid: str) -> str:
    return sid.replace("_", " ")


def _example_rule(catalog: Catalog) -> list[str]:
    """One remedy rule of this catalog's own remedies, valid as written, for the team to change."""
    remedies = catalog.remedies
    remedy = remedies.get(PREFERRED_REMEDY)
    if remedy is None or remedy.kind != "money":
        by_kind = {
            kind: [r for r in remedies.values() if r.kind == kind] for kind in ("money", "days", *SIZELESS_KINDS)
        }
        remedy = next((rs[0] for rs in by_kind.values() if rs), None)
    if remedy is None:
        raise MakegoodError(f"{catalog.source}: the catalog has no money, day or sizeless remedy to start from")
    if remedy.kind == "money":
        amount, caps = "amount: {fixed: 5}", [5, 15, 25, 50, 100]
        cap = "{{max_amount: {}}}"
    elif remedy.kind == "days":
        amount, caps = "amount: {fixed: 7}", [7, 14, 14, 30, 60]
        cap = "{{max_days: {}}}"
    else:
        amount, caps, cap = "", [0] * 5, "{{}}"
    lines = [f"      - remedy: {remedy.name}   # TODO: the remedy to offer (see `remedies` in the catalog)"]
    if amount:
        lines.append(
            f"        {amount}   # TODO: its size for this case: {{fixed: N}}, {{fact: NAME}}, {{percent: N, of: NAME}}"
        )
    lines.append("        caps:   # TODO: what each tier may give; a tier not listed may not give it at all")
    lines += [f"          {tier.value}: {cap.format(n)}" for tier, n in zip(Tier.ordered(), caps, strict=True)]
    return lines


def catalog_text(catalog: Catalog, sid: str, description: str | None) -> str:
    described = json.dumps(description if description else f"TODO: what went wrong, in one line ({_words(sid)})")
    return "\n".join(
        [
            f"# {sid}: scaffolded by `makegood situation new {sid}`. The marked lines are yours to fill in;",
            "# then `makegood policy validate` and `make validate` (which fails while any mark is left).",
            "situations:",
            f"  {sid}:",
            f"    description: {described}",
            "    # TODO: the facts the policy needs for this situation (see `facts` in the catalog), e.g.",
            "    # [order_value, days_since_delivery]. Company facts come from the customer store; a",
            "    # conversation fact is asked by the case form with its `ask:` question, so declare a new one",
            '    # under `facts:` with one (e.g. fault: {type: enum, values: [...], ask: "What went wrong?"})',
            "    # and a slot of the same name in the domain file. `asks: {fact: ...}` words a question for",
            "    # this situation only; `derive: {fact: expression}` works a fact out instead of asking.",
            "    needs: []",
            "    remedies:",
            "      # TODO: the remedies, in the order we prefer to offer them (the order is the ranking);",
            "      # add `when:` conditions on facts. This example is a small one for every tier: change it.",
            *_example_rule(catalog),
            "",
        ]
    )


def nlu_text(sid: str, description: str | None) -> str:
    about = description or _words(sid)
    lines = [f"    - {TODO} example {n}: a customer's message about {about}" for n in range(1, MIN_EXAMPLES + 1)]
    return "\n".join(
        [
            'version: "3.1"',
            "",
            f"# {sid}: how customers say it. Replace every TODO line with a real message, written the way",
            f"# customers write (at least {MIN_EXAMPLES}, better 15 or more; with and without amounts and order ids).",
            "# `make validate` fails while a TODO line is left.",
            "nlu:",
            f"- intent: {sid}",
            "  examples: |",
            *lines,
            "",
        ]
    )


def domain_text(sid: str, description: str | None) -> str:
    about = description or _words(sid)
    return "\n".join(
        [
            'version: "3.1"',
            "",
            f"# {sid}: the exception and how the bot opens it (Listen, Apologize).",
            "intents:",
            f"  - {sid}",
            "",
            "responses:",
            "  # Said when the case opens: one sentence that owns the problem.",
            f"  utter_{sid}_apology:",
            f"    - text: {json.dumps(f'{TODO}: apologise for {about}, in one sentence')}",
            '  # How the bot names it when it asks which of two situations it is ("is this about A, or B?").',
            f"  utter_{sid}_clarify:",
            f"    - text: {json.dumps(f'{TODO}: a few words naming {about}')}",
            "",
            "# A conversation fact this situation asks for (its question is the catalog's `ask:`) needs a",
            "# slot of the same name, read by the case form:",
            "#   slots:",
            "#     <fact>:",
            "#       type: text",
            "#       influence_conversation: false",
            "#       mappings:",
            "#         - type: custom",
            "",
        ]
    )


def rule_text(sid: str) -> str:
    return "\n".join(
        [
            'version: "3.1"',
            "",
            f"# A {_words(sid)} case opens as every case does (data/rules/open_case.yml): apologise,",
            "# then the case form opens the case and gathers the facts the policy needs.",
            "rules:",
            f"  - rule: open a {_words(sid)} case",
            "    steps:",
            f"      - intent: {sid}",
            f"      - action: utter_{sid}_apology",
            "      - action: case_form",
            "      - active_loop: case_form",
            "",
        ]
    )


__all__ = ["Scaffolded", "check_id", "existing", "new_situation", "targets"]
