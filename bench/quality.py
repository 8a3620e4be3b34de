"""Detection quality: four models side by side on two test sets, scored by bench/nlu_scoring.py.

Test sets:
- `independent`: tests/eval/nlu_unseen.yml, written by someone who never saw data/ (the 12
  situations + `not_exception`); the primary figure.
- `held_out`: tests/nlu/test_nlu.yml, the older held-out set, written in the training data's
  own style (every intent of data/nlu).

Models, all trained on exactly the data/nlu examples:
- `makegood`: models/makegood.tar.gz, parsed through Rasa's Agent (as a live conversation is);
- `diet`: the landed DIET pipeline (bench/diet.py), parsed the same way;
- `tfidf_lr`: TF-IDF word 1–2-grams + char 2–4-grams, logistic regression;
- `minilm_lr`: mean-pooled all-MiniLM-L6-v2 sentence embeddings (the assistant's own encoder,
  makegood_rasa.sentence_featurizer) + logistic regression.
The two baselines answer with their top intent: no fallback threshold, no clarifying question.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bench import diet
from bench.nlu_scoring import (
    CLARIFY,
    NOT_EXCEPTION,
    coarse,
    load_examples,
    predict,
    resolved,
    score,
    situation_ids,
    training_examples,
)

ROOT = Path(__file__).resolve().parents[1]
MODELS = {
    "makegood": "Makegood (TF-IDF + MiniLM, calibrated LR)",
    "diet": "landed DIET model",
    "tfidf_lr": "TF-IDF + LR baseline",
    "minilm_lr": "MiniLM embedding + LR baseline",
}
SETS = {
    "independent": {
        "path": "tests/eval/nlu_unseen.yml",
        "title": "independent set",
        "about": "written by someone who never saw `data/`; the 12 situations and `not_exception` "
        "(every non-situation prediction is folded into it)",
    },
    "held_out": {
        "path": "tests/nlu/test_nlu.yml",
        "title": "older held-out set",
        "about": "written in the training data's own style, so it flatters whatever learnt that style; "
        "every intent of `data/nlu`",
    },
}
SMOKE_EXAMPLES = 60  # smoke run: per set, every k-th example, enough to run every code path
SMOKE_TRAIN_EVERY = 3  # smoke run: the baselines fit on every third training example


def tfidf_lr_predictions(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ]
    )
    model = make_pipeline(features, LogisticRegression(max_iter=2000, C=10))
    model.fit([t for t, _ in train], [i for _, i in train])
    return [str(p) for p in model.predict(texts)]


def minilm_lr_predictions(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    """The assistant's MiniLM encoder (mean-pooled, L2-normalised) + logistic regression with
    the settings scripts/nlu_cv.py cross-validated for "MiniLM alone" on the training data."""
    from sklearn.linear_model import LogisticRegression

    from makegood_rasa.sentence_featurizer import get_encoder

    encoder = get_encoder()
    model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=3000, random_state=42)
    model.fit(encoder.encode([t for t, _ in train]), [i for _, i in train])
    return [str(p) for p in model.predict(encoder.encode(texts))]


def rasa_predictions(model: str, texts: list[str]) -> list[str]:
    return [name for name, _ in asyncio.run(predict(model, texts))]


def _subsample(examples: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    step = max(1, len(examples) // n)
    return examples[::step][:n]


def score_set(key: str, truth_raw: list[str], raw: list[str]) -> dict:
    """Scores of one model on one set. Independent set: labels folded to the 12 situations +
    `not_exception`; held-out set: every intent. Either way a clarifying question is 'not an
    exception' and never a correct situation (see bench/nlu_scoring.py)."""
    situations = situation_ids()
    if key == "independent":
        truth = [coarse(t, situations) for t in truth_raw]
        result = score(truth, [coarse(p, situations) for p in raw])
        after = score(truth, [resolved(p, t, situations) for p, t in zip(raw, truth, strict=True)])
        result["after_clarifying"] = {
            k: after[k] for k in ("intent_accuracy", "situation_macro_f1", "exception_precision", "exception_recall")
        }
    else:
        result = score(truth_raw, raw)
    asked = [(t, p) for t, p in zip(truth_raw, raw, strict=True) if p.startswith(CLARIFY)]
    result["clarifying_questions"] = len(asked)
    result["clarifying_questions_with_the_right_button"] = sum(t in p[len(CLARIFY) :].split("|") for t, p in asked)
    return result


def confusion(truth_raw: list[str], raw: list[str]) -> dict:
    """Rows: the true label (situations, then not_exception); columns: what the model did
    (a situation, a clarifying question, or not an exception)."""
    situations = list(situation_ids())
    rows = situations + [NOT_EXCEPTION]
    cols = situations + ["clarify_situation", NOT_EXCEPTION]
    matrix = [[0] * len(cols) for _ in rows]
    for t, p in zip(truth_raw, raw, strict=True):
        col = p if p in situations else ("clarify_situation" if p.startswith(CLARIFY) else NOT_EXCEPTION)
        matrix[rows.index(coarse(t, tuple(situations)))][cols.index(col)] += 1
    return {"rows": rows, "columns": cols, "matrix": matrix}


def run(model_path: Path, smoke: bool, say: Callable[[str], None]) -> dict:
    train = training_examples()
    sets = {key: load_examples(ROOT / spec["path"]) for key, spec in SETS.items()}
    if smoke:  # figures that mean nothing, from every code path, in seconds
        train = train[::SMOKE_TRAIN_EVERY]
        sets = {key: _subsample(examples, SMOKE_EXAMPLES) for key, examples in sets.items()}
    texts = [t for examples in sets.values() for t, _ in examples]
    models: dict[str, dict] = {key: {"name": name} for key, name in MODELS.items()}
    raw: dict[str, list[str]] = {}

    def timed(key: str, make: Callable[[], list[str]]) -> None:
        started = time.perf_counter()
        raw[key] = make()
        models[key]["seconds"] = round(time.perf_counter() - started, 1)

    landed = diet.ensure(train=not smoke, say=say)
    models["diet"].update(landed)
    say(f"  {MODELS['makegood']}: {len(texts)} messages through the trained model")
    timed("makegood", lambda: rasa_predictions(str(model_path), texts))
    if landed["path"]:
        say(f"  {MODELS['diet']}: {len(texts)} messages through {Path(landed['path']).name}")
        timed("diet", lambda: rasa_predictions(str(ROOT / landed["path"]), texts))
    else:
        models["diet"]["skipped"] = landed["skipped"] or landed["error"]
    say(f"  {MODELS['tfidf_lr']}: fitting on {len(train)} data/nlu examples")
    timed("tfidf_lr", lambda: tfidf_lr_predictions(train, texts))
    say(f"  {MODELS['minilm_lr']}: encoding and fitting on {len(train)} data/nlu examples")
    timed("minilm_lr", lambda: minilm_lr_predictions(train, texts))

    out: dict = {"models": models, "training_examples": len(train), "sets": {}}
    offset = 0
    for key, examples in sets.items():
        truth = [i for _, i in examples]
        n = len(examples)
        entry = {
            **SETS[key],
            "examples": n,
            "texts": [t for t, _ in examples],
            "truth": truth,
            "predictions": {},
            "scores": {},
        }
        for model, predictions in raw.items():
            mine = predictions[offset : offset + n]
            entry["predictions"][model] = mine
            entry["scores"][model] = score_set(key, truth, mine)
        if key == "independent":
            entry["confusion_makegood"] = confusion(truth, entry["predictions"]["makegood"])
        out["sets"][key] = entry
        offset += n
    return out


def held_out_misses(quality: dict) -> list[dict]:
    """The Makegood model's wrong answers on the older held-out set (every intent)."""
    held = quality["sets"]["held_out"]
    return [
        {"text": t, "expected": e, "predicted": p}
        for t, e, p in zip(held["texts"], held["truth"], held["predictions"]["makegood"], strict=True)
        if e != p
    ]


def summary(quality: dict) -> dict:
    """What goes into the JSON reports: scores and model info, no per-message predictions."""
    return {
        "models": quality["models"],
        "training_examples": quality["training_examples"],
        "sets": {
            key: {k: v for k, v in entry.items() if k not in ("texts", "truth", "predictions")}
            for key, entry in quality["sets"].items()
        },
    }
