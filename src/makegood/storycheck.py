"""Story files are checked against the policy.

Teams teach the bot by writing stories. A story may make the bot say an offer directly
(`- action: utter_offer_<remedy>`); this check fails any such step the catalog does not
allow at the bot's tier, naming the file, the story, the step and the rule. Facts a story
sets with `slot_was_set` (e.g. `disputed_amount: 200`) are used; facts only the company
knows (order value, membership) are unknown here, so the check asks whether the bot could
offer the remedy at all in that situation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from makegood.errors import CaseError, MakegoodError
from makegood.policy import Case, Catalog, Tier
from makegood.policy.options import evaluate_rule

BOT_TIER = Tier.SELF_SERVICE
OFFER_PREFIX = "utter_offer_"


@dataclass(frozen=True)
class StoryProblem:
    file: str
    story: str
    step: int  # 1-based position in the story's steps
    action: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: story '{self.story}', step {self.step} ({self.action}): {self.message} [{self.rule}]"


def story_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.yml") if p.is_file())
            yield from sorted(p for p in path.rglob("*.yaml") if p.is_file())
        elif path.exists():
            yield path


def check_story_files(catalog: Catalog, paths: Iterable[Path]) -> tuple[int, list[StoryProblem]]:
    """Returns (number of stories and rules checked, problems)."""
    checked, problems = 0, []
    for path in story_files(paths):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise MakegoodError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            continue
        for section, key in (("stories", "story"), ("rules", "rule")):
            for block in data.get(section) or []:
                if isinstance(block, dict) and isinstance(block.get("steps"), list):
                    checked += 1
                    problems += check_steps(catalog, str(path), str(block.get(key, "?")), block["steps"])
    return checked, problems


def check_steps(catalog: Catalog, file: str, story: str, steps: list) -> list[StoryProblem]:
    situation = None
    facts: dict[str, object] = {}
    problems = []
    for index, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            continue
        if step.get("intent") in catalog.situations:
            situation, facts = step["intent"], {}
        for slot_set in step.get("slot_was_set") or []:
            if isinstance(slot_set, dict):
                for name, value in slot_set.items():
                    if name in catalog.facts and catalog.facts[name].source == "conversation":
                        facts[name] = value
        action = step.get("action")
        if isinstance(action, str) and action.startswith(OFFER_PREFIX):
            problem = check_offer(catalog, situation, facts, action[len(OFFER_PREFIX) :])
            if problem:
                rule, message = problem
                problems.append(StoryProblem(file, story, index, action, rule, message))
    return problems


def check_offer(catalog: Catalog, situation: str | None, facts: dict, remedy: str) -> tuple[str, str] | None:
    if remedy not in catalog.remedies:
        return "remedies", f"{remedy} is not a remedy in the catalog"
    if situation is None:
        return "situations", f"the bot offers {remedy} before the story names a situation"
    rules = [r for r in catalog.situation(situation).remedies if r.remedy == remedy]
    if not rules:
        return f"situations.{situation}.remedies", f"{remedy} is not a remedy for {situation}"
    if not any(BOT_TIER in r.caps for r in rules):
        return f"{rules[0].id}.caps", f"the bot ({BOT_TIER}) may never offer {remedy} in {situation}"
    try:
        case = Case.build(catalog, situation, facts)
    except CaseError as exc:
        return f"situations.{situation}", f"the story's facts are invalid: {exc}"
    reasons = []
    for rule in rules:
        offers, beyond, blocked, missing = evaluate_rule(catalog, rule, case, BOT_TIER)
        if offers or missing:  # allowed, or allowed for some customers (company facts unknown here)
            return None
        if beyond:
            what = remedy if beyond[0].size is None else f"{remedy} of {beyond[0].size}"  # no size: the remedy alone
            reasons.append((beyond[0].cap_rule, f"{what} here needs {beyond[0].required_tier}"))
        elif blocked:
            reasons.append((blocked[0].rule, f"{remedy} is outside policy here: {blocked[0].reason}"))
    return reasons[0] if reasons else None


__all__ = ["StoryProblem", "check_offer", "check_steps", "check_story_files"]
