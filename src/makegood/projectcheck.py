"""Catalog, domain, NLU data and rules agree.

A situation is added by data alone (catalog + NLU + domain + rules), so nothing but this
check notices when one of the four is missing. For every situation of the catalog:

- its intent (the situation id) is declared in the domain;
- the NLU data has at least MIN_EXAMPLES real examples of it (lines with TODO do not count);
- the domain has `utter_<id>_apology` (said when the case opens) and `utter_<id>_clarify`
  (how the bot names it when it asks which of two situations it is), with no TODO text;
- a rule opens the case: the intent, then the case form activated (`action: case_form`,
  `active_loop: case_form`; data/rules/open_case.yml puts the apology between them).

And the other way: every intent that opens a case (the last intent before the case form is
activated in a rule or a story) is a situation of the catalog. A TODO left in a policy file is an error
too, so a scaffold (`makegood situation new`) fails here until a person has filled it in.
Every problem names the file it is about, and all of them are reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from makegood.errors import MakegoodError
from makegood.policy import Catalog

MIN_EXAMPLES = 5
TODO = "TODO"
CASE_FORM = "case_form"
YAML_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class Layout:
    """Where a project's pieces are: the policy catalog (file or directory), the Rasa training
    data (NLU, rules, stories) and the domain (file or directory)."""

    root: Path
    policy: Path
    data: Path
    domain: Path

    @classmethod
    def of(cls, root: Path, policy: Path | None = None, data: Path | None = None, domain: Path | None = None) -> Layout:
        return cls(
            root=root,
            policy=policy if policy is not None else root / "policy",
            data=data if data is not None else root / "data",
            domain=domain if domain is not None else root / "rasa_project" / "domain",
        )

    def show(self, path: Path) -> str:
        """`path` relative to the project root when it is inside it (as messages name files)."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class ProjectProblem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Opening:
    """A rule or story that opens a case: `intent` is the last intent before the case form is activated."""

    file: Path
    kind: str  # "rule" or "story"
    name: str
    intent: str


@dataclass
class Project:
    """What the domain and the training data declare, and where."""

    intents: dict[str, Path] = field(default_factory=dict)  # intent -> the first domain file declaring it
    responses: dict[str, tuple[Path, list[str]]] = field(default_factory=dict)  # name -> (file, its texts)
    examples: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)  # intent -> [(file, example)]
    openings: list[Opening] = field(default_factory=list)
    slots: dict[str, tuple[Path, list[str]]] = field(default_factory=dict)  # slot -> (file, its mapping types)


def yaml_files(path: Path) -> list[Path]:
    """`path` itself, or every *.yml / *.yaml under it (sorted); nothing when it does not exist."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
    return [path] if path.is_file() else []


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MakegoodError(f"{path}: not valid YAML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MakegoodError(f"{path}: cannot read it: {exc}") from None


def read_project(layout: Layout) -> Project:
    project = Project()
    for path in yaml_files(layout.domain):
        doc = read_yaml(path)
        if not isinstance(doc, dict):
            continue
        for item in doc.get("intents") or []:
            name = next(iter(item), None) if isinstance(item, dict) else item
            if isinstance(name, str):
                project.intents.setdefault(name, path)
        slots = doc.get("slots") or {}
        if isinstance(slots, dict):
            for name, body in slots.items():
                mappings = body.get("mappings") if isinstance(body, dict) else None
                kinds = [str(m.get("type")) for m in mappings or [] if isinstance(m, dict)]
                project.slots.setdefault(str(name), (path, kinds))
        responses = doc.get("responses") or {}
        if isinstance(responses, dict):
            for name, variants in responses.items():
                texts = [str(v.get("text", "")) for v in variants or [] if isinstance(v, dict)]
                project.responses.setdefault(str(name), (path, texts))
    for path in yaml_files(layout.data):
        doc = read_yaml(path)
        if not isinstance(doc, dict):
            continue
        for block in doc.get("nlu") or []:
            if isinstance(block, dict) and isinstance(block.get("intent"), str):
                examples = project.examples.setdefault(block["intent"], [])
                examples += [(path, e) for e in _example_lines(block.get("examples"))]
        for section, kind in (("rules", "rule"), ("stories", "story")):
            for block in doc.get(section) or []:
                if isinstance(block, dict) and isinstance(block.get("steps"), list):
                    name = str(block.get(kind, "?"))
                    project.openings += [Opening(path, kind, name, i) for i in _opening_intents(block["steps"])]
    return project


def _example_lines(raw: Any) -> Iterator[str]:
    lines = raw.splitlines() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    for line in lines:
        text = str(line).strip()
        if text.startswith("- "):
            text = text[2:].strip()
        if text:
            yield text


def _opening_intents(steps: list[Any]) -> Iterator[str]:
    """Intents after which the steps activate the case form: `action: case_form` directly
    followed by `active_loop: case_form` (the form asking on mid-case is not an activation)."""
    intent = None
    steps = [step for step in steps if isinstance(step, dict)]
    for step, after in zip(steps, steps[1:] + [{}], strict=True):
        if isinstance(step.get("intent"), str):
            intent = step["intent"]
        elif step.get("action") == CASE_FORM and after.get("active_loop") == CASE_FORM and intent is not None:
            yield intent
            intent = None


def policy_files(policy: Path) -> list[Path]:
    """The files the loader reads: the catalog file, or a directory's *.yml / *.yaml (not below it)."""
    if not policy.is_dir():
        return [policy] if policy.is_file() else []
    return sorted(
        p for p in policy.iterdir() if p.suffix in YAML_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def situation_files(policy: Path) -> dict[str, Path]:
    """Which policy file defines each situation."""
    found: dict[str, Path] = {}
    for path in policy_files(policy):
        doc = read_yaml(path)
        situations = doc.get("situations") if isinstance(doc, dict) else None
        if isinstance(situations, dict):
            for sid in situations:
                found.setdefault(str(sid), path)
    return found


def todo_lines(paths: Iterable[Path]) -> Iterator[tuple[Path, int, str]]:
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TODO in line:
                yield path, number, line.strip()


def check_project(catalog: Catalog, layout: Layout, min_examples: int = MIN_EXAMPLES) -> list[ProjectProblem]:
    """Every way catalog, domain, NLU data and rules disagree; empty when they agree."""
    project = read_project(layout)
    show = layout.show
    domain, nlu_dir, rules_dir = show(layout.domain), show(layout.data / "nlu"), show(layout.data / "rules")
    defined_in = situation_files(layout.policy)
    problems: list[ProjectProblem] = []

    def problem(file: str | Path, message: str) -> None:
        problems.append(ProjectProblem(show(file) if isinstance(file, Path) else file, message))

    for sid in catalog.situations:
        where = f"situation {sid} ({show(defined_in[sid]) if sid in defined_in else show(layout.policy)})"
        if sid not in project.intents:
            problem(domain, f"no intent {sid} is declared for {where}; add it under `intents:`")
        examples = project.examples.get(sid, [])
        real = [e for _, e in examples if TODO not in e]
        for path in sorted({p for p, e in examples if TODO in e}):
            count = sum(1 for p, e in examples if p == path and TODO in e)
            problem(path, f"intent {sid}: {count} example line(s) are still TODO; write what customers say")
        if len(real) < min_examples:
            files = sorted({show(p) for p, _ in examples}) or [nlu_dir]
            problem(
                files[0] if len(files) == 1 else nlu_dir,
                f"intent {sid} has {len(real)} real NLU example(s); {where} needs at least {min_examples}",
            )
        for purpose in ("apology", "clarify"):
            name = f"utter_{sid}_{purpose}"
            if name not in project.responses:
                problem(domain, f"no response {name} for {where}")
                continue
            path, texts = project.responses[name]
            if not any(t.strip() for t in texts):
                problem(path, f"response {name} has no text")
            elif any(TODO in t for t in texts):
                problem(path, f"response {name} still has TODO text")
        if not any(o.kind == "rule" and o.intent == sid for o in project.openings):
            problem(
                rules_dir,
                f"no rule opens a {sid} case ({where}): intent {sid}, utter_{sid}_apology, "
                f"{CASE_FORM}, active_loop: {CASE_FORM} (as in data/rules/open_case.yml)",
            )
    for fact in catalog.askable_facts():
        asked_in = ", ".join(s for s in catalog.situations if fact in catalog.asked_facts(s))
        if fact not in project.slots:
            problem(
                domain,
                f"no slot {fact} for the fact the case form asks in {asked_in}: add it under `slots:` "
                f"(type: text, influence_conversation: false, mappings: [{{type: custom}}])",
            )
        elif "custom" not in project.slots[fact][1]:
            problem(
                project.slots[fact][0],
                f"slot {fact} needs a `type: custom` mapping: the case form reads it by the fact's type",
            )
    for opening in project.openings:
        if opening.intent not in catalog.situations:
            problem(
                opening.file,
                f"{opening.kind} '{opening.name}' opens a case (activates {CASE_FORM}) for intent {opening.intent}, "
                f"which is not a situation in the catalog ({show(layout.policy)})",
            )
    for path, number, line in todo_lines(policy_files(layout.policy)):
        problem(f"{show(path)}:{number}", f"a TODO is left in the policy: {line}")
    return problems


__all__ = [
    "MIN_EXAMPLES",
    "Layout",
    "Opening",
    "Project",
    "ProjectProblem",
    "check_project",
    "policy_files",
    "read_project",
    "situation_files",
]
