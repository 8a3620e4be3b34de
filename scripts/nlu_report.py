"""Score the trained model on the older held-out NLU set and write var/nlu-heldout.md (+ .json).

Run by `make test` (the NLU step of scripts/run-tests.sh). The held-out set (tests/nlu/test_nlu.yml) was
written in the training data's own style, so it flatters whatever learnt that style; the
independent set is scripts/nlu_unseen.py's. The committed side-by-side of four models on both
sets is docs/nlu-results.md, written by `make bench`, which scores with the same code
(bench/nlu_scoring.py). Figures here: intent accuracy, macro-F1 over intents, per-intent
precision/recall/F1, and exception-vs-not precision/recall (does a message start an
exception flow when it should?). A clarifying question (intent `clarify_situation`) counts
as not-an-exception in those figures (no case is opened, never a correct situation) and is
counted separately, with how often its two buttons held the right situation.
"""

from __future__ import annotations

import argparse
import asyncio
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
sys.path.insert(0, str(ROOT))
from bench.nlu_scoring import load_examples, per_label_table, predict, score, situation_ids  # noqa: E402 - run as a script: the checkout first


def markdown(result: dict, errors: list[dict], meta: dict) -> str:
    lines = [
        "# NLU results on the older held-out set",
        "",
        f"Written by `make test` (scripts/nlu_report.py, {meta['when']}, {meta['machine']}) into var/, not "
        "committed. The committed four-model comparison on this set and on the independent one is "
        "`docs/nlu-results.md`, written by `make bench`.",
        "",
        f"Model: `{meta['model']}`; test set: `{meta['test']}` ({result['examples']} examples, written in the "
        "training data's own style).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| intent accuracy | {result['intent_accuracy']:.3f} |",
        f"| macro-F1 (all intents) | {result['macro_f1']:.3f} |",
        f"| macro-F1 (the {len(situation_ids())} situations) | {result['situation_macro_f1']:.3f} |",
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
    parser.add_argument("--out", default="var/nlu-heldout.md")
    args = parser.parse_args()
    examples = load_examples(Path(args.test))
    if not examples:
        print(f"error: no examples in {args.test}", file=sys.stderr)
        return 2
    predictions = asyncio.run(predict(args.model, [t for t, _ in examples]))
    truth = [i for _, i in examples]
    predicted = [p for p, _ in predictions]
    result = score(truth, predicted)
    errors = [
        {"text": t, "expected": i, "predicted": p, "confidence": c}
        for (t, i), (p, c) in zip(examples, predictions, strict=True)
        if i != p
    ]
    meta = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "model": args.model,
        "test": args.test,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(result, errors, meta), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({**meta, **result, "errors": errors}, indent=2), encoding="utf-8")
    print(
        f"held-out NLU ({result['examples']} examples): intent accuracy {result['intent_accuracy']:.3f}, "
        f"macro-F1 {result['macro_f1']:.3f}, situations macro-F1 {result['situation_macro_f1']:.3f}, "
        f"exception precision {result['exception_precision']:.3f}, recall {result['exception_recall']:.3f}"
        f" -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
