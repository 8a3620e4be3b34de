"""Language understanding for Makegood: a spaCy pipeline built from code (no pretrained
model) that finds and normalises money, percents, order ids, durations and frequencies.

Importing this package does not import spaCy; the pipeline is built on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from makegood.nlp.extract import Entity, extract, to_days, to_decimal

if TYPE_CHECKING:
    from makegood.nlp.pipeline import build_nlp, pipeline_is_current, save_pipeline

__all__ = [
    "Entity",
    "build_nlp",
    "extract",
    "pipeline_is_current",
    "save_pipeline",
    "to_days",
    "to_decimal",
]

_LAZY = {"build_nlp", "save_pipeline", "pipeline_is_current"}


def __getattr__(name: str) -> Any:
    # These need spaCy (a multi-second import); load it only when someone asks.
    if name in _LAZY:
        from makegood.nlp import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
