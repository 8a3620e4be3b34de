"""The Rasa component runs `makegood.nlp.extract` on each message and appends entities."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from makegood_rasa.entity_extractor import MakegoodEntityExtractor

pytestmark = pytest.mark.unit


@pytest.fixture
def extractor() -> MakegoodEntityExtractor:
    # create() ignores storage and context: the component is rule-based, nothing to load.
    return MakegoodEntityExtractor.create({}, None, None, None)  # type: ignore[arg-type]


def test_adds_normalised_entities_in_rasa_format(extractor):
    message = Message(data={"text": "I paid forty-five dollars for order 10421"})
    extractor.process([message])
    assert message.get("entities") == [
        {
            "entity": "amount",
            "value": "45.00",
            "start": 7,
            "end": 25,
            "confidence": 1.0,
            "extractor": "MakegoodEntityExtractor",
        },
        {
            "entity": "order_id",
            "value": "MG-10421",
            "start": 30,
            "end": 41,
            "confidence": 1.0,
            "extractor": "MakegoodEntityExtractor",
        },
    ]


def test_keeps_entities_other_extractors_found(extractor):
    theirs = {"entity": "situation", "value": "damaged_item", "start": 0, "end": 7, "extractor": "DIETClassifier"}
    message = Message(data={"text": "damaged, I want $30 back", "entities": [dict(theirs)]})
    extractor.process([message])
    entities = message.get("entities")
    assert entities[0] == theirs
    assert [(e["entity"], e["value"]) for e in entities[1:]] == [("amount", "30.00")]


def test_processes_every_message_and_leaves_textless_ones_alone(extractor):
    messages = [
        Message(data={"text": "25 a week"}),
        Message(data={}),
        Message(data={"text": ""}),
        Message(data={"text": "hello"}),
    ]
    assert extractor.process(messages) is messages
    assert [(e["entity"], e["value"]) for e in messages[0].get("entities")] == [
        ("amount", "25.00"),
        ("frequency", "week"),
    ]
    assert all(not m.get("entities") for m in messages[1:])
