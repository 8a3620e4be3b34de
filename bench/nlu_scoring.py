"""How NLU predictions are made and scored: one module for `make bench` (bench/quality.py) and
the make-test reports (scripts/nlu_report.py, scripts/nlu_unseen.py).

Scoring rules, the same everywhere:

- A *situation* is one of the catalog's situation ids (the case-opening intents).
- *Exception vs not*: a prediction is "exception" when it is a situation; anything else
  (an ordinary intent, `nlu_fallback`, a clarifying question) is "not".
- A clarifying question (`clarify_situation`, the bot asks "is it A or B?") is recorded as
  `clarify:A|B`. It never counts as a correct situation: for a true situation it is a miss
  (recall), and it is not a case opened (so it can never hurt exception precision).
- On the independent set every non-situation label is folded into `not_exception`
  (`coarse`); `resolved` is the optional "after clarifying" reading, where the customer taps
  the true situation when it is one of the two buttons.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_EXCEPTION = "not_exception"
CLARIFY = "clarify:"


@functools.lru_cache(maxsize=1)
def situation_ids() -> tuple[str, ...]:
    """The situations the NLU data is for: the catalog at MAKEGOOD_POLICY_PATH, else the
    retail catalog in policy/ (the catalog is the one list of situations)."""
    from makegood.policy import load_catalog

    return load_catalog(os.environ.get("MAKEGOOD_POLICY_PATH") or ROOT / "policy").situation_ids


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of a test set in Rasa's YAML NLU format."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = []
    for block in data.get("nlu", []):
        intent = block.get("intent")
        for line in (block.get("examples") or "").splitlines():
            line = line.strip()
            if intent and line.startswith("- "):
                examples.append((line[2:].strip(), intent))
    return examples


def training_examples(path: Path = ROOT / "data" / "nlu") -> list[tuple[str, str]]:
    """(text, intent) pairs of the training data, read by Rasa's own loader (entity markup
    stripped, as `rasa train` sees them)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(e.get("text"), e.get("intent")) for e in data.intent_examples if e.get("text") and e.get("intent")]


async def predict(model: str, texts: list[str]) -> list[tuple[str, float]]:
    """(intent, confidence) per text through the trained model's Rasa Agent (the same parse
    as a live conversation); a clarifying question becomes `clarify:A|B`."""
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # one line per parsed message is not a report
    agent = Agent.load(model)
    out = []
    for text in texts:
        parsed = await agent.parse_message(text)
        intent = parsed.get("intent") or {}
        name = intent.get("name") or "nlu_fallback"
        if name == "clarify_situation":  # a question with two buttons: name both candidates
            name = CLARIFY + "|".join((parsed.get("clarify_situation") or {}).get("candidates") or [])
        out.append((name, float(intent.get("confidence") or 0.0)))
    return out


def coarse(intent: str, situations: tuple[str, ...]) -> str:
    return intent if intent in situations else NOT_EXCEPTION


def resolved(raw: str, truth: str, situations: tuple[str, ...]) -> str:
    """What the customer ends up with when the bot asks "is it A or B?" and the customer taps the
    true one: the truth if it is among the buttons, else the first candidate (a wrong case).
    Any other prediction is read as `coarse` reads it."""
    if raw.startswith(CLARIFY):
        candidates = raw[len(CLARIFY) :].split("|")
        return truth if truth in candidates else coarse(candidates[0], situations)
    return coarse(raw, situations)


def score(truth: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    situation_list = situation_ids()
    labels = sorted(set(truth))
    p, r, f, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    per_intent = {
        label: {
            "precision": round(float(p[i]), 4),
            "recall": round(float(r[i]), 4),
            "f1": round(float(f[i]), 4),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    is_exc_true = [t in situation_list for t in truth]
    is_exc_pred = [x in situation_list for x in predicted]
    tp = sum(a and b for a, b in zip(is_exc_true, is_exc_pred, strict=True))
    fp = sum((not a) and b for a, b in zip(is_exc_true, is_exc_pred, strict=True))
    fn = sum(a and (not b) for a, b in zip(is_exc_true, is_exc_pred, strict=True))
    situations = [s for s in situation_list if s in labels]
    asked = [(t, x) for t, x in zip(truth, predicted, strict=True) if x.startswith(CLARIFY)]
    return {
        "clarifying_questions": len(asked),
        "clarifying_questions_with_the_right_button": sum(t in x[len(CLARIFY) :].split("|") for t, x in asked),
        "examples": len(truth),
        "intent_accuracy": round(accuracy_score(truth, predicted), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4),
        "situation_macro_f1": round(sum(per_intent[s]["f1"] for s in situations) / max(1, len(situations)), 4),
        "exception_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "exception_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "per_intent": per_intent,
    }


def per_label_table(per_label: dict, what: str) -> list[str]:
    """The per-label precision/recall/F1 table, as markdown lines."""
    lines = ["", f"## Per {what}", "", f"| {what} | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for label, m in per_label.items():
        lines.append(f"| {label} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |")
    return lines
