"""The intent classifier: entity masking, calibrated rankings, persistence."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from makegood_rasa.intent_classifier import MakegoodIntentClassifier, normalise

pytestmark = pytest.mark.unit

EXAMPLES = {
    "billing_error": [
        "you charged me $89 twice",
        "I was billed 45 dollars too much",
        "double charge of $12.50 on my card",
        "the invoice total is wrong",
        "charged twice for one order",
    ],
    "late_delivery": [
        "my order is 5 days late",
        "order MG-10421 should have arrived last week",
        "the parcel is overdue",
        "still waiting, it was due on friday",
        "delivery is running two weeks behind",
    ],
    "greet": ["hi", "hello there", "good morning", "hey", "hiya"],
}


def training_data() -> TrainingData:
    return TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])


@pytest.fixture
def storage(tmp_path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def make(storage, context, **config) -> MakegoodIntentClassifier:
    return MakegoodIntentClassifier.create(
        {**MakegoodIntentClassifier.get_default_config(), **config}, storage, Resource("intent_classifier"), context
    )


def test_normalise_masks_entities_and_evens_out_spelling():
    assert normalise("You charged me $89 on MG-10421") == "you charged me  amount  on  orderid "
    assert normalise("I can't BELIEVE it won't come, sooooo late") == "i can not believe it will not come, soo late"
    # Two readings of one span ("2 days": days and hours) are masked once.
    assert normalise("it's been 2 days").count("duration") == 1


def test_ranks_every_intent_with_calibrated_confidences(storage, context):
    classifier = make(storage, context, calibration_folds=2)
    classifier.train(training_data())
    message = Message(data={"text": "you took $250 twice from my card"})
    classifier.process([message])
    ranking = message.get("intent_ranking")
    assert message.get("intent") == ranking[0]
    assert ranking[0]["name"] == "billing_error"
    assert {r["name"] for r in ranking} == set(EXAMPLES)
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) == pytest.approx(1.0)


def test_amounts_and_order_ids_are_features_by_type_not_by_digits(storage, context):
    classifier = make(storage, context, temperature=1.0)
    classifier.train(training_data())
    # Amounts and order ids never seen in training score exactly as seen ones do.
    seen, unseen = classifier.predict(["you charged me $89 twice", "you charged me $7,431.20 twice"])
    assert np.allclose(seen, unseen)
    seen, unseen = classifier.predict(["order MG-10421 is late", "order #99817 is late"])
    assert np.allclose(seen, unseen)


def test_temperature_is_fitted_or_taken_from_config(storage, context):
    fixed = make(storage, context, temperature=0.5)
    fixed.train(training_data())
    assert fixed._temperature == 0.5
    fitted = make(storage, context, calibration_folds=2)
    fitted.train(training_data())
    assert 0.05 <= fitted._temperature <= 3.0


def test_ranking_length_limits_the_ranking(storage, context):
    classifier = make(storage, context, ranking_length=2, temperature=1.0)
    classifier.train(training_data())
    message = Message(data={"text": "hello"})
    classifier.process([message])
    assert [r["name"] for r in message.get("intent_ranking")][:1] == ["greet"]
    assert len(message.get("intent_ranking")) == 2


def test_persisted_model_predicts_the_same(storage, context):
    classifier = make(storage, context, calibration_folds=2)
    classifier.train(training_data())
    loaded = MakegoodIntentClassifier.load(
        MakegoodIntentClassifier.get_default_config(), storage, Resource("intent_classifier"), context
    )
    texts = ["my parcel is late", "hey there", "wrong charge of $5"]
    assert loaded._temperature == classifier._temperature
    assert np.allclose(loaded.predict(texts), classifier.predict(texts))


def test_untrained_component_leaves_messages_alone(storage, context):
    classifier = MakegoodIntentClassifier.load(
        MakegoodIntentClassifier.get_default_config(), storage, Resource("never_trained"), context
    )
    message = Message(data={"text": "hello"})
    classifier.process([message])
    assert message.get("intent") is None


def test_needs_two_intents(storage, context):
    data = TrainingData([Message(data={"text": t, "intent": "greet"}) for t in EXAMPLES["greet"]])
    with pytest.raises(ValueError):
        make(storage, context).train(data)


# --- dense sentence features and clarifying decisions ---------------------------------

from rasa.shared.nlu.training_data.features import Features  # noqa: E402

from makegood_rasa.intent_classifier import CLARIFY_INTENT, decide  # noqa: E402


def with_dense(message: Message, vector) -> Message:
    message.add_features(
        Features(np.asarray(vector, dtype=np.float32)[None, :], "sentence", "text", "MakegoodSentenceFeaturizer")
    )
    return message


def test_dense_sentence_features_are_concatenated_with_tfidf(storage, context):
    # The same words, told apart only by the dense feature an earlier featurizer set.
    data = TrainingData(
        [
            with_dense(Message(data={"text": f"thing {i}", "intent": intent}), vector)
            for i in range(6)
            for intent, vector in (("billing_error", [1.0, 0.0]), ("greet", [0.0, 1.0]))
        ]
    )
    classifier = make(storage, context, temperature=1.0, dense_weight=3.0)
    classifier.train(data)
    billing = with_dense(Message(data={"text": "thing"}), [1.0, 0.0])
    greeting = with_dense(Message(data={"text": "thing"}), [0.0, 1.0])
    classifier.process([billing, greeting])
    assert billing.get("intent")["name"] == "billing_error"
    assert greeting.get("intent")["name"] == "greet"
    assert sum(r["confidence"] for r in billing.get("intent_ranking")) == pytest.approx(1.0)
    loaded = MakegoodIntentClassifier.load(classifier._config, storage, Resource("intent_classifier"), context)
    dense = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert np.allclose(loaded.predict(["thing", "thing"], dense), classifier.predict(["thing", "thing"], dense))


def test_dense_weight_zero_is_the_tfidf_model(storage, context, tmp_path):
    data = TrainingData(
        [with_dense(Message(data={"text": t, "intent": i}), [0.5, 0.5]) for i, texts in EXAMPLES.items() for t in texts]
    )
    plain = make(storage, context, temperature=1.0)
    plain.train(training_data())
    (tmp_path / "zero").mkdir()
    zero = make(LocalModelStorage(tmp_path / "zero"), context, temperature=1.0, dense_weight=0)
    zero.train(data)
    texts = ["my parcel is late", "hi"]
    assert np.allclose(plain.predict(texts), zero.predict(texts))


def ranking(*pairs):
    return [{"name": n, "confidence": c} for n, c in pairs]


def test_decide_asks_only_between_two_close_situations():
    close = ranking(("late_delivery", 0.45), ("lost_package", 0.40), ("greet", 0.15))
    assert decide(close, threshold=0.4, margin=0.1) == ["late_delivery", "lost_package"]
    assert decide(close, threshold=0.4, margin=0.0) is None  # clarifying off
    assert decide(close, threshold=0.9, margin=0.1) is None  # together too unlikely
    far = ranking(("late_delivery", 0.80), ("lost_package", 0.15))
    assert decide(far, threshold=0.4, margin=0.5) is None
    ordinary = ranking(("ask_order_status", 0.45), ("late_delivery", 0.42))
    assert decide(ordinary, threshold=0.4, margin=0.1) is None  # not two situations


def test_close_situations_become_clarify_situation_with_both_candidates(storage, context):
    classifier = make(storage, context, temperature=1.0, clarify_margin=0.2, clarify_threshold=0.4)
    classifier.train(training_data())
    classes = classifier.classes
    row = np.zeros(len(classes))
    row[classes.index("billing_error")], row[classes.index("late_delivery")] = 0.46, 0.44
    row[classes.index("greet")] = 0.10
    classifier.predict = lambda texts, dense=None: np.array([row])
    message = Message(data={"text": "something odd with my order"})
    classifier.process([message])
    assert message.get("intent")["name"] == CLARIFY_INTENT
    assert message.get("intent")["confidence"] == pytest.approx(0.90)
    assert message.get("clarify_situation")["candidates"] == ["billing_error", "late_delivery"]
    assert [r["name"] for r in message.get("intent_ranking")][:3] == [CLARIFY_INTENT, "billing_error", "late_delivery"]
    assert "clarify_situation" in message.as_dict(only_output_properties=True)
