"""Whose chat is it, read from the messages: the bot's side of makegood.customers.identity.

The actions hand over each user message's metadata; the first valid customer token binds
the conversation, a later one naming someone else is refused (and the caller logs it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from makegood.customers.identity import METADATA_KEY, Binding, bind


def bound_customer(metadata: Iterable[Mapping[str, Any] | None], secret: str | None) -> Binding:
    return bind(((m or {}).get(METADATA_KEY) for m in metadata if isinstance(m, Mapping)), secret)


__all__ = ["METADATA_KEY", "Binding", "bound_customer"]
