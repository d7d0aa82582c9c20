"""Catalogue entities with a spaCy EntityRuler.

A blank spaCy Chinese pipeline (character segmentation, so a phrase matches
anywhere in Chinese text whatever jieba does with it) with an EntityRuler whose
phrase patterns are the NLU lookup tables (departments and their
abbreviations, districts, data formats, opening types — generated from the
catalogue by `ops.gen_entity_data`).  Unlike Rasa's regex lookup, overlapping
matches resolve to the longest one (市卫健委 rather than 卫健委) and matching is
case-insensitive through a lower-cased copy of the text.  The values are the
matched text; EntitySynonymMapper maps them to canonical names afterwards.
`benchmarks/entity_eval.py` compares it with RegexEntityExtractor.
"""

from __future__ import annotations

from typing import Any

import spacy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

PATTERNS_FILE = "patterns.json"


def build_ruler(patterns: list[dict]):
    nlp = spacy.blank("zh")  # default segmenter: characters
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(patterns)
    return nlp


def patterns_from(training_data: TrainingData) -> list[dict]:
    return [
        {"label": table["name"], "pattern": element.lower()}
        for table in training_data.lookup_tables
        for element in table["elements"]
        if element.strip()
    ]


def extract(nlp, text: str) -> list[dict[str, Any]]:
    doc = nlp(text.lower())  # lower() keeps offsets: the catalogue terms are CJK or ASCII
    return [
        {"entity": ent.label_, "start": ent.start_char, "end": ent.end_char, "value": text[ent.start_char:ent.end_char]}
        for ent in doc.ents
    ]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class CatalogEntityRuler(GraphComponent, EntityExtractorMixin):
    def __init__(self, model_storage: ModelStorage, resource: Resource, patterns: list[dict] | None = None):
        self._storage, self._resource = model_storage, resource
        self.patterns = patterns or []
        self._nlp = build_ruler(self.patterns) if self.patterns else None

    @classmethod
    def create(cls, config: dict, model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CatalogEntityRuler:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self.patterns = patterns_from(training_data)
        self._nlp = build_ruler(self.patterns)
        with self._storage.write_to(self._resource) as directory:
            dump_obj_as_json_to_file(directory / PATTERNS_FILE, self.patterns)
        return self._resource

    @classmethod
    def load(cls, config: dict, model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CatalogEntityRuler:
        try:
            with model_storage.read_from(resource) as directory:
                return cls(model_storage, resource, read_json_file(directory / PATTERNS_FILE))
        except ValueError:
            return cls(model_storage, resource)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._nlp is None:
            return messages
        for message in messages:
            found = self.add_extractor_name(extract(self._nlp, message.get(TEXT) or ""))
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages
