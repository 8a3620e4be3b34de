"""`MakegoodIntentClassifier`: TF-IDF n-grams (+ a pretrained sentence embedding) -> logistic regression.

config.yml:
    - name: makegood_rasa.sentence_featurizer.MakegoodSentenceFeaturizer   # optional
    - name: makegood_rasa.intent_classifier.MakegoodIntentClassifier

A linear model on sublinear TF-IDF word and character n-grams, concatenated with the dense
sentence feature an earlier featurizer set on the message (MiniLM, see
sentence_featurizer.py), scaled by `dense_weight`. Without dense features (or with
`dense_weight: 0`) it is the TF-IDF model alone. The variants were compared by stratified
k-fold cross-validation on data/nlu (scripts/nlu_cv.py, docs/nlu-results.md). What makes it
generalise:

* Entity masking: spans `makegood.nlp.extract` finds (amounts, percents, order ids,
  durations, frequencies) are replaced by their type, so "$89", "$12.50" and "MG-10421"
  are one feature each instead of digit n-grams that tie an intent to particular numbers.
* Calibrated confidences: a 30-way logistic regression spreads its probability mass, so
  raw confidences would trip the FallbackClassifier on most messages. Scores are divided
  by a temperature fitted at training time (log-loss of out-of-fold predictions), so a
  confidence of 0.35 means about a 35% chance of being right, which is what the fallback's
  threshold assumes.

* Calibrated decisions: when the two best intents are both situations and their
  confidences are within `clarify_margin` of each other (and together reach
  `clarify_threshold`), the message is not a guess at either: the intent becomes
  `clarify_situation`, with both candidates under `clarify_situation` in the parse data,
  and a rule asks the customer which it is (actions/clarify.py). Everything else too unsure
  is left to the FallbackClassifier's threshold. Both numbers come from cross-validation.
  Which intents are situations comes from the policy catalog the assistant runs on
  (MAKEGOOD_POLICY_PATH, else policy/), or from an optional `situations: [id, ...]` in this
  component's config; it is not stored in the trained model.

It builds its TF-IDF features from the raw text itself (the sparse features of earlier
featurizers are not used) and calls `extract` directly, the same function on the training
and the inference path, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import skops.io as sio
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from makegood.config import POLICY_PATH_VAR
from makegood.nlp import extract
from makegood.policy import load_catalog

INTENT_RANKING = "intent_ranking"
CLARIFY_INTENT = "clarify_situation"
CLARIFY_KEY = "clarify_situation"  # parse data: {"candidates": [id, id], "confidences": [p, p]}
_CONTRACTIONS = [
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
]
_REPEATS = re.compile(r"(.)\1{2,}")
# Types skops may rebuild besides its defaults (the TF-IDF idf matrix); anything else in
# a model file makes loading fail rather than run.
_TRUSTED_TYPES = ["scipy.sparse._csr.csr_matrix", "makegood_rasa.intent_classifier.LinearModel"]


def normalise(text: str) -> str:
    """Lower-case, entity spans replaced by their type, contractions expanded, letters
    repeated three or more times cut to two ("sooooo" -> "soo")."""
    pieces, pos = [], 0
    for ent in sorted(extract(text), key=lambda e: (e.start, -e.end)):
        if ent.start < pos:  # overlapping readings of one span (days and hours): mask once
            continue
        pieces += [text[pos : ent.start], f" {ent.entity.replace('_', '')} "]
        pos = ent.end
    pieces.append(text[pos:])
    out = "".join(pieces).lower().replace("\u2019", "'")
    for pattern, repl in _CONTRACTIONS:
        out = pattern.sub(repl, out)
    return _REPEATS.sub(r"\1\1", out)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@functools.lru_cache(maxsize=4)
def _situation_ids(policy_path: str) -> tuple[str, ...]:
    return load_catalog(policy_path).situation_ids


def catalog_situations() -> tuple[str, ...]:
    """Which intents are situations: the ids of the catalog the assistant runs on
    (MAKEGOOD_POLICY_PATH, else this checkout's policy/), read once per path. Not part of
    the trained model: the same model and catalog give the same decisions."""
    explicit = (os.environ.get(POLICY_PATH_VAR) or "").strip()
    path = Path(explicit).expanduser() if explicit else Path(__file__).resolve().parents[2] / "policy"
    return _situation_ids(str(path))


def decide(
    ranking: list[dict[str, Any]], threshold: float, margin: float, situations: Collection[str] | None = None
) -> list[str] | None:
    """The two situations to ask about, or None. Asked when the top two intents are both
    situations, less than `margin` apart, and together at least `threshold` likely (one of
    the two is probably right; which one is a coin toss). `situations`: the intents that
    are situations; None: the catalog's (`catalog_situations`)."""
    if margin <= 0 or len(ranking) < 2:
        return None
    if situations is None:
        situations = catalog_situations()
    first, second = ranking[0], ranking[1]
    p1, p2 = first[PREDICTED_CONFIDENCE_KEY], second[PREDICTED_CONFIDENCE_KEY]
    if (
        first[INTENT_NAME_KEY] in situations
        and second[INTENT_NAME_KEY] in situations
        and p1 - p2 < margin
        and p1 + p2 >= threshold
    ):
        return [first[INTENT_NAME_KEY], second[INTENT_NAME_KEY]]
    return None


class LinearModel:
    """TF-IDF(normalised text) [+ dense_weight * dense embedding] -> logistic regression."""

    def __init__(self, config: dict[str, Any]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        c = config
        self.vectorizer = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=tuple(c["word_ngrams"]),
                        sublinear_tf=True,
                        lowercase=False,
                        token_pattern=r"(?u)\b\w+\b",
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=tuple(c["char_ngrams"]), sublinear_tf=True, lowercase=False
                    ),
                ),
            ]
        )
        self.model = LogisticRegression(
            C=float(c["C"]), class_weight=c["class_weight"], max_iter=3000, random_state=c["random_seed"]
        )
        self.dense_weight = float(c["dense_weight"])
        self.dense_dim = 0

    def _features(self, texts: Sequence[str], dense: np.ndarray | None, fit: bool) -> Any:
        sparse = self.vectorizer.fit_transform(texts) if fit else self.vectorizer.transform(texts)
        if fit:
            self.dense_dim = 0 if dense is None or self.dense_weight == 0 else int(dense.shape[1])
        if not self.dense_dim:
            return sparse
        if dense is None:  # trained with embeddings, none given: neutral (all-zero) embedding
            dense = np.zeros((len(texts), self.dense_dim), dtype=np.float32)
        return sp.hstack([sparse, sp.csr_matrix(dense * self.dense_weight)]).tocsr()

    def fit(self, texts: Sequence[str], dense: np.ndarray | None, labels: Sequence[str]) -> LinearModel:
        self.model.fit(self._features(texts, dense, fit=True), list(labels))
        return self

    def decision_function(self, texts: Sequence[str], dense: np.ndarray | None = None) -> np.ndarray:
        scores = self.model.decision_function(self._features(texts, dense, fit=False))
        if scores.ndim == 1:  # two classes: one logit for the second; softmax([0, s]) = sigmoid(s)
            scores = np.column_stack([np.zeros_like(scores), scores])
        return scores

    @property
    def classes_(self) -> np.ndarray:
        return self.model.classes_


def fit_temperature(config: dict[str, Any], texts: list[str], dense: np.ndarray | None, labels: list[str]) -> float:
    """Temperature minimising the log-loss of out-of-fold predictions (1.0 if too few)."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    counts = {label: labels.count(label) for label in set(labels)}
    folds = min(int(config["calibration_folds"]), min(counts.values()))
    if folds < 2:
        return 1.0
    x, y = np.array(texts, dtype=object), np.array(labels)
    classes = sorted(counts)
    scores = np.zeros((len(y), len(classes)))
    split = StratifiedKFold(folds, shuffle=True, random_state=config["random_seed"])
    for train, test in split.split(x, y):
        fold = LinearModel(config).fit(list(x[train]), None if dense is None else dense[train], y[train])
        cols = [classes.index(k) for k in fold.classes_]
        scores[np.ix_(test, cols)] = fold.decision_function(list(x[test]), None if dense is None else dense[test])
    grid = np.exp(np.linspace(np.log(0.05), np.log(3.0), 80))
    return float(min(grid, key=lambda t: log_loss(y, softmax(scores, t), labels=classes)))


def train_model(
    config: dict[str, Any], texts: list[str], dense: np.ndarray | None, labels: list[str]
) -> tuple[LinearModel, float]:
    """Fit the model and its temperature on normalised texts (used by the CV script too)."""
    temperature = config["temperature"]
    t = fit_temperature(config, texts, dense, labels) if temperature == "auto" else float(temperature)
    return LinearModel(config).fit(texts, dense, labels), t


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class MakegoodIntentClassifier(GraphComponent, IntentClassifier):
    """Linear intent classifier with entity masking, calibrated confidences, clarification."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "word_ngrams": [1, 2],
            "char_ngrams": [2, 4],
            "C": 30.0,
            # Small intents (bot_challenge has ~20 examples) count as much as big ones.
            "class_weight": "balanced",
            # "auto": fitted on out-of-fold predictions at training time; or a number.
            "temperature": "auto",
            "calibration_folds": 3,
            # Scale of the dense sentence feature next to the TF-IDF block (0: not used).
            "dense_weight": 1.0,
            # Ask which situation when the top two are closer than this (0: never ask) ...
            "clarify_margin": 0.0,
            # ... and together at least this likely.
            "clarify_threshold": 0.35,
            "ranking_length": 10,
            "random_seed": 42,
        }

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MakegoodIntentClassifier:
        return cls(config, model_storage, resource)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: LinearModel | None = None,
        temperature: float = 1.0,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline
        self._temperature = temperature

    @staticmethod
    def _dense(messages: list[Message]) -> np.ndarray | None:
        from makegood_rasa.sentence_featurizer import sentence_embedding

        rows = [sentence_embedding(m) for m in messages]
        if all(r is None for r in rows):
            return None
        dim = next(r for r in rows if r is not None).shape[0]
        return np.stack([r if r is not None else np.zeros(dim, np.float32) for r in rows])

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        labels = [e.get(INTENT) for e in examples]
        if len(set(labels)) < 2:
            raise ValueError("MakegoodIntentClassifier needs examples of at least two intents")
        texts = [normalise(e.get(TEXT)) for e in examples]
        self._pipeline, self._temperature = train_model(self._config, texts, self._dense(examples), labels)
        self.persist()
        return self._resource

    def predict(self, texts: list[str], dense: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in `self.classes`."""
        if self._pipeline is None:
            raise RuntimeError("the intent classifier has not been trained")
        scores = self._pipeline.decision_function([normalise(t) for t in texts], dense)
        return softmax(scores, self._temperature)

    @property
    def classes(self) -> list[str]:
        return list(self._pipeline.classes_) if self._pipeline is not None else []

    def process(self, messages: list[Message]) -> list[Message]:
        if self._pipeline is None:
            return messages
        probs = self.predict([m.get(TEXT) or "" for m in messages], self._dense(messages))
        classes = self.classes
        length = int(self._config["ranking_length"]) or len(classes)
        for message, row in zip(messages, probs, strict=True):
            ranking = [{INTENT_NAME_KEY: classes[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in np.argsort(-row)]
            candidates = decide(
                ranking,
                float(self._config["clarify_threshold"]),
                float(self._config["clarify_margin"]),
                self._config.get("situations"),
            )
            if candidates:
                top = {
                    INTENT_NAME_KEY: CLARIFY_INTENT,
                    PREDICTED_CONFIDENCE_KEY: ranking[0][PREDICTED_CONFIDENCE_KEY]
                    + ranking[1][PREDICTED_CONFIDENCE_KEY],
                }
                message.set(
                    CLARIFY_KEY,
                    {"candidates": candidates, "confidences": [r[PREDICTED_CONFIDENCE_KEY] for r in ranking[:2]]},
                    add_to_output=True,
                )
                ranking = [top] + ranking
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING, ranking[:length], add_to_output=True)
        return messages

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            sio.dump({"pipeline": self._pipeline, "temperature": self._temperature}, directory / "classifier.skops")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MakegoodIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                saved = sio.load(directory / "classifier.skops", trusted=_TRUSTED_TYPES)
        except ValueError:  # nothing trained yet (e.g. a core-only model)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, saved["pipeline"], saved["temperature"])
