"""Custom Rasa 3.6 NLU components (loaded by the Rasa server on Python 3.10).

Only thin wrappers live here; the parsing itself is in nlu.parsing, tested without Rasa."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.domain.clock import Clock, clock_starting_at
from nlu.parsing.extract import extract_entities
from nlu.parsing.identifiers import code_word
from nlu.parsing.normalise import normalise_word


def rasa_process_clock() -> Clock:
    """Indonesia's calendar day decides two-digit years, as in the action server; the same
    SADAR_CLOCK_STARTS_AT shifts it (the Rasa process reads no Sadar settings)."""
    starts_at = os.environ.get("SADAR_CLOCK_STARTS_AT") or None
    anchor = os.environ.get("SADAR_CLOCK_ANCHOR") or None
    return clock_starting_at(
        datetime.fromisoformat(starts_at) if starts_at else None,
        float(anchor) if anchor else None,
    )


class _StatelessComponent(GraphComponent):
    """Nothing to configure, train or persist."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _StatelessComponent:
        return cls()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SadarEntityExtractor(_StatelessComponent, EntityExtractorMixin):
    """NIK, phone, money, date, occupation and village, with normalised values:
    digits-only NIK, E.164 phone, integer rupiah, ISO date, canonical occupation code."""

    def __init__(self) -> None:
        self._clock: Clock = rasa_process_clock()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # button payloads carry their own entities
            found = [
                {
                    "entity": item.entity,
                    "value": item.value,
                    "start": item.start,
                    "end": item.end,
                    "confidence_entity": 1.0,
                }
                for item in extract_entities(text, self._clock.today())
            ]
            message.set(
                ENTITIES,
                message.get(ENTITIES, []) + self.add_extractor_name(found),
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SlangNormaliser(_StatelessComponent):
    """Sets each token's lemma to its standard form ('brp' -> 'berapa', 'piye' ->
    'bagaimana'), and a code Sadar handed out to one word for its kind ('SDR-7K3M-9QXA' ->
    'kodewarga'); the featurizers read lemmas, while TEXT and entity spans stay untouched."""

    @staticmethod
    def _normalise(message: Message) -> None:
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            token.lemma = code_word(token.text) or normalise_word(token.text)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalise(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data
