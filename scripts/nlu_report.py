"""Score the trained model on the held-out NLU set and write docs/nlu-results.md (+ .json).

The held-out set (tests/nlu/test_nlu.yml) was written independently of the training data.
Figures: intent accuracy, macro-F1 over intents, per-situation precision/recall/F1, and
exception-vs-not precision/recall (does a message start an exception flow when it should?).
A clarifying question (intent `clarify_situation`) counts as not-an-exception in those
figures (no case is opened) and is counted separately, with how often its two buttons held
the right situation. The file's "Cross-validation on the training data" section is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # rasa reads it for its structlog output
logging.disable(logging.WARNING)

ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def situation_ids() -> tuple[str, ...]:
    """The situations the NLU data is for: the catalog at MAKEGOOD_POLICY_PATH, else the
    retail catalog in policy/ (the catalog is the one list of situations)."""
    from makegood.policy import load_catalog

    return load_catalog(os.environ.get("MAKEGOOD_POLICY_PATH") or ROOT / "policy").situation_ids


def load_examples(path: Path) -> list[tuple[str, str]]:
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


CV_HEADING = "## Cross-validation on the training data"


def kept_sections(path: Path) -> str:
    """The cross-validation section scripts/nlu_cv.py's figures live in (written by hand
    from its output): kept when this report rewrites the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    start = text.find(CV_HEADING)
    if start < 0:
        return ""
    rest = text[start + len(CV_HEADING):]
    end = rest.find("\n# ")
    return CV_HEADING + (rest if end < 0 else rest[:end + 1])


async def predict(model: str, texts: list[str]) -> list[tuple[str, float]]:
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
            name = "clarify:" + "|".join((parsed.get("clarify_situation") or {}).get("candidates") or [])
        out.append((name, float(intent.get("confidence") or 0.0)))
    return out


def score(truth: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    situation_list = situation_ids()
    labels = sorted(set(truth))
    p, r, f, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    per_intent = {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                          "f1": round(float(f[i]), 4), "support": int(support[i])} for i, label in enumerate(labels)}
    is_exc_true = [t in situation_list for t in truth]
    is_exc_pred = [x in situation_list for x in predicted]
    tp = sum(a and b for a, b in zip(is_exc_true, is_exc_pred))
    fp = sum((not a) and b for a, b in zip(is_exc_true, is_exc_pred))
    fn = sum(a and (not b) for a, b in zip(is_exc_true, is_exc_pred))
    situations = [s for s in situation_list if s in labels]
    asked = [(t, x) for t, x in zip(truth, predicted) if x.startswith("clarify:")]
    return {
        "clarifying_questions": len(asked),
        "clarifying_questions_with_the_right_button": sum(t in x[len("clarify:"):].split("|") for t, x in asked),
        "examples": len(truth),
        "intent_accuracy": round(accuracy_score(truth, predicted), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4),
        "situation_macro_f1": round(sum(per_intent[s]["f1"] for s in situations) / max(1, len(situations)), 4),
        "exception_precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "exception_recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "per_intent": per_intent,
    }


def per_label_table(per_label: dict, what: str) -> list[str]:
    """The per-label precision/recall/F1 table, as markdown lines (shared with nlu_unseen.py)."""
    lines = ["", f"## Per {what}", "", f"| {what} | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for label, m in per_label.items():
        lines.append(f"| {label} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | {m['support']} |")
    return lines


def markdown(result: dict, errors: list[dict], meta: dict) -> str:
    lines = [
        "# NLU results on the held-out set",
        "",
        f"Written by `make test` ({meta['when']}, {meta['machine']}). Model: `{meta['model']}`; "
        f"test set: `{meta['test']}` ({result['examples']} examples, written independently of the training data).",
        "",
        "| figure | value |", "|---|---|",
        f"| intent accuracy | {result['intent_accuracy']:.3f} |",
        f"| macro-F1 (all intents) | {result['macro_f1']:.3f} |",
        f"| macro-F1 (the 12 situations) | {result['situation_macro_f1']:.3f} |",
        f"| exception-vs-not precision | {result['exception_precision']:.3f} |",
        f"| exception-vs-not recall | {result['exception_recall']:.3f} |",
        f"| clarifying questions (two buttons) | {result['clarifying_questions']} |",
        f"| ... with the right situation on a button | {result['clarifying_questions_with_the_right_button']} |",
    ]
    lines += per_label_table(result["per_intent"], "intent")
    lines += ["", f"## Misclassified ({len(errors)})", "", "| text | expected | predicted |", "|---|---|---|"]
    for e in errors:
        text = e["text"].replace("|", "\\|")
        lines.append(f"| {text} | {e['expected']} | {e['predicted']} ({e['confidence']:.2f}) |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", default="tests/nlu/test_nlu.yml")
    parser.add_argument("--out", default="docs/nlu-results.md")
    args = parser.parse_args()
    examples = load_examples(Path(args.test))
    if not examples:
        print(f"error: no examples in {args.test}", file=sys.stderr)
        return 2
    predictions = asyncio.run(predict(args.model, [t for t, _ in examples]))
    truth = [i for _, i in examples]
    predicted = [p for p, _ in predictions]
    result = score(truth, predicted)
    errors = [{"text": t, "expected": i, "predicted": p, "confidence": c}
              for (t, i), (p, c) in zip(examples, predictions) if i != p]
    meta = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}", "model": args.model, "test": args.test}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = kept_sections(out)
    out.write_text(markdown(result, errors, meta) + ("\n" + kept if kept else ""), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({**meta, **result, "errors": errors}, indent=2), encoding="utf-8")
    print(f"held-out NLU ({result['examples']} examples): intent accuracy {result['intent_accuracy']:.3f}, "
          f"macro-F1 {result['macro_f1']:.3f}, situations macro-F1 {result['situation_macro_f1']:.3f}, "
          f"exception precision {result['exception_precision']:.3f}, recall {result['exception_recall']:.3f}"
          f" -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
