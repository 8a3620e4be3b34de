"""`MakegoodEntityExtractor`: runs `makegood.nlp.extract` inside Rasa's NLU pipeline.

config.yml:
    - name: makegood_rasa.entity_extractor.MakegoodEntityExtractor

Rule-based and deterministic, so nothing to train or persist. Entities other extractors
already set on the message are kept; ours are appended. Importing this module imports
rasa and `makegood.nlp` (which defers spaCy until the first message).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from makegood.nlp import extract


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class MakegoodEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Money, percents, order ids, durations and frequencies, with normalised values."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MakegoodEntityExtractor:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = config

    def process(self, messages: list[Message]) -> list[Message]:
        """Append our entities to each message's entities (never replace them)."""
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            found = [
                {
                    ENTITY_ATTRIBUTE_TYPE: e.entity,
                    ENTITY_ATTRIBUTE_VALUE: e.value,
                    ENTITY_ATTRIBUTE_START: e.start,
                    ENTITY_ATTRIBUTE_END: e.end,
                    ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                }
                for e in extract(text)
            ]
            if found:
                message.set(
                    ENTITIES,
                    message.get(ENTITIES, []) + self.add_extractor_name(found),
                    add_to_output=True,
                )
        return messages
