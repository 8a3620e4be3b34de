"""The saved pipeline is what Rasa's SpacyNLP loads with `model: <path>`: it must load
with plain spaCy (no Makegood import needed), and a Rasa config using it must validate."""

from __future__ import annotations

import pytest
import spacy

from makegood.nlp import build_nlp, pipeline_is_current, save_pipeline

pytestmark = pytest.mark.integration


def test_saved_pipeline_loads_with_plain_spacy(tmp_path):
    path = save_pipeline(tmp_path / "nlp")
    nlp = spacy.load(path)
    assert nlp.pipe_names == build_nlp().pipe_names
    doc = nlp("refund $45 for order 10421")
    assert [(e.label_, e.text) for e in doc.ents] == [("amount", "$45"), ("order_id", "order 10421")]


def test_pipeline_is_current_tracks_the_saved_copy(tmp_path):
    path = tmp_path / "nlp"
    assert not pipeline_is_current(path)
    save_pipeline(path)
    assert pipeline_is_current(path)
    stamp = (path / "config.cfg").stat().st_mtime_ns
    save_pipeline(path)  # current: nothing rewritten
    assert (path / "config.cfg").stat().st_mtime_ns == stamp
    (path / "makegood-pipeline.json").write_text('{"source_hash": "old"}')
    assert not pipeline_is_current(path)
    save_pipeline(path)  # stale: rebuilt
    assert pipeline_is_current(path)


def test_refuses_to_replace_a_directory_that_is_not_a_pipeline(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        save_pipeline(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_rasa_config_with_spacy_nlp_and_our_extractor_validates(tmp_path):
    from rasa.engine import validation
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.data import TrainingType

    path = save_pipeline(tmp_path / "nlp")
    config = {
        "recipe": "default.v1",
        "language": "en",
        "assistant_id": "makegood-test",
        "pipeline": [
            {"name": "SpacyNLP", "model": str(path)},
            {"name": "SpacyTokenizer"},
            {"name": "makegood_rasa.entity_extractor.MakegoodEntityExtractor"},
            {"name": "SpacyFeaturizer"},
            {"name": "LogisticRegressionClassifier"},
        ],
        "policies": [],
    }
    graph = DefaultV1Recipe().graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
    validation.validate(graph)
    model = SpacyNLP.load_model(str(path))
    SpacyNLP.ensure_proper_language_model(model.model)  # what SpacyNLP.create checks
