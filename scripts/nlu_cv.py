"""Stratified k-fold cross-validation of the intent classifier variants on data/nlu only.

    .venv/bin/python scripts/nlu_cv.py [--data data/nlu] [--folds 5] [--seed 42] [--diet] [--json out.json]

Reproducible (fixed folds and seeds). Uses the training data only: never a test set.

1. Variants, scored on out-of-fold argmax predictions: TF-IDF alone (the previous model),
   TF-IDF + MiniLM sentence embedding at a few weights, MiniLM alone with logistic
   regression (what Rasa's dense features + a linear classifier amount to), and with
   --diet Rasa's DIET on MiniLM + sparse n-grams (one `rasa train nlu` per fold). Figures: intent
   accuracy, macro-F1 over the 12 situations, exception-vs-not precision/recall.
2. For the best variant, calibrated out-of-fold probabilities exactly as training makes
   them (temperature fitted on inner folds), then a grid over the confidence threshold T
   (FallbackClassifier) and the clarification margin M (MakegoodIntentClassifier): the pair
   with the best expected utility per message, where acting on the right intent is +1,
   asking a clarifying question that contains the right situation +0.6 (one extra turn), one
   that does not -0.4, asking to rephrase 0, answering the wrong ordinary intent -1, and
   opening a case on a guess (wrong situation, or a situation for an ordinary message) -2.
   Pairs within 0.005 of the best utility count as equal; the smallest margin among them
   (the fewest questions) is taken.
3. The encoder's cost per message (one at a time, and batched) and the training time.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("LOG_LEVEL", "WARNING")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


@functools.lru_cache(maxsize=1)
def situation_ids() -> tuple[str, ...]:
    """The situations the NLU data is for: the catalog at MAKEGOOD_POLICY_PATH, else the
    retail catalog in policy/ (the catalog is the one list of situations)."""
    from makegood.policy import load_catalog

    return load_catalog(os.environ.get("MAKEGOOD_POLICY_PATH") or ROOT / "policy").situation_ids


UTILITY = {
    "right": 1.0,
    "clarify_hit": 0.6,
    "clarify_miss": -0.4,
    "fallback": 0.0,
    "wrong_answer": -1.0,
    "wrong_case": -2.0,
}
THRESHOLDS = [round(x, 2) for x in np.arange(0.20, 0.81, 0.05)]
MARGINS = [0.0] + [round(x, 2) for x in np.arange(0.05, 0.91, 0.05)]
# Decision pairs whose utility is within this of the best are a wash: take the one that asks
# the fewest clarifying questions (smallest margin).
TOLERANCE = 0.005


def load(path: Path) -> tuple[list[str], list[str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = [e for e in data.intent_examples if e.get("text") and e.get("intent")]
    return [e.get("text") for e in examples], [e.get("intent") for e in examples]


def scores(truth: list[str], predicted: list[str]) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    situations = list(situation_ids())
    t, p = np.array(truth), np.array(predicted)
    exc_t, exc_p = np.isin(t, situations), np.isin(p, situations)
    tp = int((exc_t & exc_p).sum())
    return {
        "accuracy": float(accuracy_score(t, p)),
        "situation_macro_f1": float(f1_score(t, p, labels=situations, average="macro", zero_division=0)),
        "exception_precision": tp / max(1, int(exc_p.sum())),
        "exception_recall": tp / max(1, int(exc_t.sum())),
        "non_exception_flagged": int((~exc_t & exc_p).sum()),
    }


def cv_scores(make_model, x_text, x_dense, y, folds):
    """Out-of-fold decision scores (rows = messages, columns = sorted classes)."""
    classes = sorted(set(y))
    out = np.zeros((len(y), len(classes)))
    temps = np.ones(len(y))
    for train, test in folds:
        model, temperature = make_model(
            [x_text[i] for i in train], None if x_dense is None else x_dense[train], [y[i] for i in train]
        )
        cols = [classes.index(k) for k in model.classes_]
        out[np.ix_(test, cols)] = model.decision_function(
            [x_text[i] for i in test], None if x_dense is None else x_dense[test]
        )
        out[np.ix_(test, [c for c in range(len(classes)) if c not in cols])] = -1e9
        temps[test] = temperature
    return classes, out, temps


DIET_PIPELINE = [
    # Rasa's own route for dense features: MiniLM sentence feature + sparse n-grams -> DIET
    # (the configuration the project used before, plus the MiniLM feature).
    {"name": "makegood_rasa.sentence_featurizer.SpacyNLP", "model": "models/spacy/makegood_en"},
    {"name": "SpacyTokenizer"},
    {"name": "makegood_rasa.sentence_featurizer.MakegoodSentenceFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 2, "max_ngram": 4},
    {
        "name": "DIETClassifier",
        "epochs": 50,
        "entity_recognition": False,
        "number_of_transformer_layers": 1,
        "transformer_size": 128,
        "constrain_similarities": True,
        "random_seed": 42,
    },
]


def diet_cv(texts: list[str], y: list[str], folds) -> list[str]:
    """Out-of-fold DIET predictions on the same folds: one `rasa train nlu` per fold."""
    import asyncio
    import tempfile

    import rasa.model_training
    import rasa.shared.utils.io
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    predicted = [""] * len(y)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yml"
        rasa.shared.utils.io.write_yaml(
            {"recipe": "default.v1", "language": "en", "assistant_id": "cv", "pipeline": DIET_PIPELINE, "policies": []},
            config,
        )
        for n, (train, test) in enumerate(folds):
            data = TrainingData([Message(data={"text": texts[i], "intent": y[i]}) for i in train])
            path = Path(tmp) / "nlu.yml"
            RasaYAMLWriter().dump(path, data)
            model = rasa.model_training.train_nlu(str(config), str(path), str(Path(tmp) / f"m{n}"))
            agent = Agent.load(model)

            async def parse_all(agent: Agent = agent, test: Any = test) -> list[str]:
                return [((await agent.parse_message(texts[i])).get("intent") or {}).get("name") or "" for i in test]

            for i, name in zip(test, asyncio.run(parse_all()), strict=True):
                predicted[i] = name
    return predicted


def outcome(truth: str, ranking: list[dict], threshold: float, margin: float) -> str:
    from makegood_rasa.intent_classifier import decide

    candidates = decide(ranking, threshold, margin, situation_ids())
    if candidates:
        return "clarify_hit" if truth in candidates else "clarify_miss"
    top = ranking[0]
    if top["confidence"] < threshold:
        return "fallback"
    if top["name"] == truth:
        return "right"
    return "wrong_case" if top["name"] in situation_ids() else "wrong_answer"


def tune(classes, probs, y) -> tuple[dict, list[dict]]:
    order = np.argsort(-probs, axis=1)[:, :2]
    rankings = [[{"name": classes[j], "confidence": float(probs[i, j])} for j in order[i]] for i in range(len(y))]
    grid = []
    for t in THRESHOLDS:
        for m in MARGINS:
            counts = dict.fromkeys(UTILITY, 0)
            for truth, ranking in zip(y, rankings, strict=True):
                counts[outcome(truth, ranking, t, m)] += 1
            utility = sum(UTILITY[k] * n for k, n in counts.items()) / len(y)
            grid.append({"threshold": t, "margin": m, "utility": round(utility, 4), **counts})
    top = max(g["utility"] for g in grid)
    best = min(
        (g for g in grid if g["utility"] >= top - TOLERANCE), key=lambda g: (g["margin"], -g["utility"], g["threshold"])
    )
    return best, grid


def decision_figures(classes, probs, y, threshold, margin) -> dict:
    """Exception precision/recall of what the bot DOES: a case opened directly, counting a
    clarifying question whose buttons include the right situation as recall."""
    situations = situation_ids()
    opened_right = opened = clarify_hit = clarify = fallback = 0
    order = np.argsort(-probs, axis=1)[:, :2]
    for i, truth in enumerate(y):
        ranking = [{"name": classes[j], "confidence": float(probs[i, j])} for j in order[i]]
        result = outcome(truth, ranking, threshold, margin)
        if result.startswith("clarify"):
            clarify += 1
            clarify_hit += result == "clarify_hit"
        elif result == "fallback":
            fallback += 1
        elif ranking[0]["name"] in situations:
            opened += 1
            opened_right += ranking[0]["name"] == truth
    n_exc = sum(t in situations for t in y)
    return {
        "case_precision": opened_right / max(1, opened),
        "exception_recall_incl_clarify": (opened_right + clarify_hit) / max(1, n_exc),
        "clarify_rate": clarify / len(y),
        "fallback_rate": fallback / len(y),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / "data" / "nlu"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--weights", default="1,2,3", help="dense weights to try next to TF-IDF")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--diet", action="store_true", help="also DIET on the same folds (slow: a rasa train per fold)")
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from makegood_rasa.intent_classifier import MakegoodIntentClassifier, normalise, softmax, train_model
    from makegood_rasa.sentence_featurizer import get_encoder

    texts, y = load(Path(args.data))
    print(f"{len(y)} examples, {len(set(y))} intents, {args.folds}-fold stratified, seed {args.seed}")
    normalised = [normalise(t) for t in texts]

    t0 = time.perf_counter()
    encoder = get_encoder()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dense = encoder.encode(texts)
    batch_ms = (time.perf_counter() - t0) * 1000 / len(texts)
    sample = texts[:: max(1, len(texts) // 100)][:100]
    t0 = time.perf_counter()
    for text in sample:
        encoder.encode([text])
    single_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    print(f"encoder: load {load_s:.1f} s, {single_ms:.1f} ms/message one at a time, {batch_ms:.1f} ms/message batched")

    base = {**MakegoodIntentClassifier.get_default_config(), "random_seed": args.seed}
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=args.seed).split(np.zeros(len(y)), y))

    def linear(weight: float, temperature: object = 1.0):
        config = {**base, "dense_weight": weight, "temperature": temperature}
        return lambda xt, xd, yy: train_model(config, xt, xd if weight else None, yy)

    class DenseOnly:
        def __init__(self, xd, yy):
            self.model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000, random_state=args.seed).fit(
                xd, yy
            )
            self.classes_ = self.model.classes_

        def decision_function(self, _texts, xd):
            return self.model.decision_function(xd)

    variants = [("TF-IDF + LR (previous model)", 0.0, linear(0.0))]
    variants += [
        (f"TF-IDF + MiniLM (weight {w:g}) + LR", float(w), linear(float(w)))
        for w in map(float, args.weights.split(","))
    ]
    variants.append(("MiniLM sentence embedding + LR", None, lambda xt, xd, yy: (DenseOnly(xd, yy), 1.0)))

    results = []
    if args.diet:
        t0 = time.perf_counter()
        predicted = diet_cv(texts, y, folds)
        seconds = time.perf_counter() - t0
        row = {
            "variant": "MiniLM + sparse n-grams + DIET (Rasa)",
            "weight": None,
            **scores(y, predicted),
            "cv_seconds": round(seconds, 1),
        }
        results.append(row)
        print(
            f"  {row['variant']}: acc {row['accuracy']:.3f}, situations macro-F1 {row['situation_macro_f1']:.3f}, "
            f"exception P {row['exception_precision']:.3f} R {row['exception_recall']:.3f} ({seconds:.0f} s)"
        )
    for name, weight, make in variants:
        t0 = time.perf_counter()
        classes, raw, _ = cv_scores(make, normalised, dense, y, folds)
        seconds = time.perf_counter() - t0
        predicted = [classes[i] for i in raw.argmax(axis=1)]
        row = {"variant": name, "weight": weight, **scores(y, predicted), "cv_seconds": round(seconds, 1)}
        results.append(row)
        print(
            f"  {name}: acc {row['accuracy']:.3f}, situations macro-F1 {row['situation_macro_f1']:.3f}, "
            f"exception P {row['exception_precision']:.3f} R {row['exception_recall']:.3f} ({seconds:.0f} s)"
        )

    linear_rows = [r for r in results if r["weight"] is not None]
    best = max(linear_rows, key=lambda r: (round(r["situation_macro_f1"], 3), r["accuracy"]))
    print(f"chosen: {best['variant']}")

    # Calibrated out-of-fold probabilities of the chosen variant, exactly as training makes them.
    classes, raw, temps = cv_scores(linear(best["weight"], "auto"), normalised, dense, y, folds)
    probs = np.vstack([softmax(raw[i : i + 1], temps[i]) for i in range(len(y))])
    tuned, grid = tune(classes, probs, y)
    baseline = next(g for g in grid if g["threshold"] == 0.35 and g["margin"] == 0.0)
    figures = decision_figures(classes, probs, y, tuned["threshold"], tuned["margin"])
    figures_base = decision_figures(classes, probs, y, 0.35, 0.0)
    print(
        f"decision: threshold {tuned['threshold']}, margin {tuned['margin']}: utility "
        f"{tuned['utility']:.3f} (threshold 0.35 without clarifying: {baseline['utility']:.3f}); {figures}"
    )

    t0 = time.perf_counter()
    full_config = {**base, "dense_weight": best["weight"], "temperature": "auto"}
    train_model(full_config, normalised, dense if best["weight"] else None, y)
    train_s = time.perf_counter() - t0
    encode_all_s = batch_ms * len(y) / 1000
    print(f"training on all {len(y)} examples: classifier {train_s:.1f} s + encoding {encode_all_s:.1f} s")

    out = {
        "examples": len(y),
        "folds": args.folds,
        "seed": args.seed,
        "variants": results,
        "chosen": best["variant"],
        "dense_weight": best["weight"],
        "decision": tuned,
        "decision_figures": figures,
        "baseline_decision": baseline,
        "baseline_decision_figures": figures_base,
        "utility": UTILITY,
        "encoder": {
            "load_s": round(load_s, 2),
            "ms_per_message_single": round(single_ms, 2),
            "ms_per_message_batched": round(batch_ms, 2),
        },
        "training_s": {"classifier": round(train_s, 1), "encoding": round(encode_all_s, 1)},
    }
    print(markdown(out))
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "grid": grid}, indent=2), encoding="utf-8")
    return 0


def markdown(out: dict) -> str:
    lines = [
        "| variant | intent accuracy | macro-F1 (12 situations) | exception precision | "
        "exception recall | ordinary messages flagged as exceptions |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["variants"]:
        mark = " **(chosen)**" if r["variant"] == out["chosen"] else ""
        lines.append(
            f"| {r['variant']}{mark} | {r['accuracy']:.3f} | {r['situation_macro_f1']:.3f} | "
            f"{r['exception_precision']:.3f} | {r['exception_recall']:.3f} | {r['non_exception_flagged']} |"
        )
    d, f, b, fb = out["decision"], out["decision_figures"], out["baseline_decision"], out["baseline_decision_figures"]
    lines += [
        "",
        "| decision rule | utility / message | cases opened that were right | exceptions reached "
        "(direct or via the clarifying question) | clarifying questions | asked to rephrase |",
        "|---|---|---|---|---|---|",
        f"| threshold 0.35, never clarify (before) | {b['utility']:.3f} | {fb['case_precision']:.3f} | "
        f"{fb['exception_recall_incl_clarify']:.3f} | {fb['clarify_rate']:.1%} | {fb['fallback_rate']:.1%} |",
        f"| threshold {d['threshold']}, margin {d['margin']} (chosen) | {d['utility']:.3f} | "
        f"{f['case_precision']:.3f} | {f['exception_recall_incl_clarify']:.3f} | {f['clarify_rate']:.1%} | "
        f"{f['fallback_rate']:.1%} |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
