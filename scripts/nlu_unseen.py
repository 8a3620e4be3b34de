"""Score a trained model on the independently written NLU set (tests/eval/nlu_unseen.yml).

That set was written by someone who never saw data/: the 12 situations plus one label,
`not_exception`, for ordinary messages. Every predicted intent that is not a situation
(greet, ask_product, nlu_fallback, a clarifying question, ...) counts as `not_exception`:
what matters to a customer is whether the bot opens the right case, or none.
Writes docs/nlu-unseen.md and .json (run by `make test`). Scoring is bench/nlu_scoring.py's, shared
with `make bench`, whose four-model comparison on this set is docs/nlu-results.md. Nothing here
feeds training: read it, never tune to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.nlu_scoring import coarse, load_examples, per_label_table, predict, resolved, score, situation_ids


def markdown(result: dict, errors: list[dict], meta: dict) -> str:
    lines = [
        "# NLU results on the independent set",
        "",
        f"Written by `make test` ({meta['when']}, {meta['machine']}). Model: `{meta['model']}`; test set: "
        f"`{meta['test']}` ({result['examples']} messages written by a helper who never saw `data/`; "
        "every non-situation prediction counts as `not_exception`).",
        "",
        'Two readings: *first reply* counts a clarifying question ("is it A or B?") as no answer; '
        "*after clarifying* credits it when the true situation is one of its two buttons (the customer "
        f"taps it), and counts it as the first candidate when it is not. Clarifying questions asked: "
        f"{result['clarifying_questions']} of {result['examples']}. A clarifying question is only "
        "ever asked between two exception situations, so for *exception vs not* the first reply already "
        "knows what the after-clarifying column says: it has taken the message as an exception and "
        "asks only which one.",
        "",
        "| figure | first reply | after clarifying |",
        "|---|---|---|",
        *[
            f"| {name} | {result[key]:.3f} | {result['after_clarifying'][key]:.3f} |"
            for name, key in (
                ("accuracy", "intent_accuracy"),
                ("macro-F1 (the 12 situations)", "situation_macro_f1"),
                ("exception-vs-not precision", "exception_precision"),
                ("exception-vs-not recall", "exception_recall"),
            )
        ],
    ]
    lines += per_label_table(result["per_intent"], "label")
    lines += ["", f"## Every miss ({len(errors)})", "", "| text | expected | predicted (raw intent) |", "|---|---|---|"]
    for e in errors:
        text = e["text"].replace("|", "\\|")
        lines.append(f"| {text} | {e['expected']} | {e['predicted']} ({e['raw']}, {e['confidence']:.2f}) |")
    return "\n".join(lines) + "\n"


def main() -> int:
    situations = situation_ids()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", default="tests/eval/nlu_unseen.yml")
    parser.add_argument("--out", default="docs/nlu-unseen.md")
    args = parser.parse_args()
    examples = load_examples(Path(args.test))
    if not examples:
        print(f"error: no examples in {args.test}", file=sys.stderr)
        return 2
    predictions = asyncio.run(predict(args.model, [t for t, _ in examples]))
    truth = [coarse(i, situations) for _, i in examples]
    predicted = [coarse(p, situations) for p, _ in predictions]
    result = score(truth, predicted)
    after = score(truth, [resolved(raw, e, situations) for e, (raw, _) in zip(truth, predictions, strict=True)])
    result["after_clarifying"] = {
        k: after[k] for k in ("intent_accuracy", "situation_macro_f1", "exception_precision", "exception_recall")
    }
    result["clarifying_questions"] = sum(1 for raw, _ in predictions if raw.startswith("clarify:"))
    errors = [
        {"text": t, "expected": e, "predicted": p, "raw": raw, "confidence": c}
        for (t, _), e, p, (raw, c) in zip(examples, truth, predicted, predictions, strict=True)
        if e != p
    ]
    meta = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "model": args.model,
        "test": args.test,
    }
    out = Path(args.out)
    out.write_text(markdown(result, errors, meta), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({**meta, **result, "errors": errors}, indent=2), encoding="utf-8")
    a = result["after_clarifying"]
    print(
        f"independent NLU set ({result['examples']} messages): situations macro-F1 "
        f"{result['situation_macro_f1']:.3f} ({a['situation_macro_f1']:.3f} after clarifying), exception "
        f"precision {result['exception_precision']:.3f} ({a['exception_precision']:.3f}), recall "
        f"{result['exception_recall']:.3f} ({a['exception_recall']:.3f}), {len(errors)} first-reply misses -> {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
