"""Detection quality on the held-out NLU set: Makegood's trained model vs a TF-IDF +
logistic-regression baseline trained on the same training data."""

from __future__ import annotations

import asyncio
import glob
from pathlib import Path

import yaml

from scripts.nlu_report import load_examples, predict, score

ROOT = Path(__file__).resolve().parents[1]


def training_examples() -> list[tuple[str, str]]:
    examples = []
    for path in sorted(glob.glob(str(ROOT / "data" / "nlu" / "*.yml"))):
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    examples.append((line.strip()[2:].strip(), block["intent"]))
    return examples


def baseline_predictions(train: list[tuple[str, str]], texts: list[str]) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
    ])
    model = make_pipeline(features, LogisticRegression(max_iter=2000, C=10))
    model.fit([t for t, _ in train], [i for _, i in train])
    return list(model.predict(texts))


def run(model_path: Path) -> dict:
    held_out = load_examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
    texts, truth = [t for t, _ in held_out], [i for _, i in held_out]
    ours = [p for p, _ in asyncio.run(predict(str(model_path), texts))]
    base = baseline_predictions(training_examples(), texts)
    return {"truth": truth, "makegood": score(truth, ours), "baseline": score(truth, base),
            "makegood_predictions": ours, "baseline_predictions": base}
