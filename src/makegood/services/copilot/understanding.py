"""Language understanding for the copilot: which situation a customer's message is about,
and the entities in it. `RasaHttpUnderstanding` asks the running Rasa server (the same
model the bot uses); tests use a fake with the same `parse` method."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Protocol, runtime_checkable

from makegood.errors import StoreUnavailable
from makegood.nlp import Entity


@dataclass(frozen=True)
class Parsed:
    intent: str | None
    confidence: float
    entities: list[Entity] = field(default_factory=list)


@runtime_checkable
class Understanding(Protocol):
    def parse(self, text: str) -> Parsed: ...


def _entities_from_rasa(text: str, raw: Any) -> list[Entity]:
    found: list[Entity] = []
    for item in raw or ():
        if not isinstance(item, dict) or not item.get("entity") or item.get("value") is None:
            continue
        try:
            start = max(0, int(item.get("start") or 0))
            end = max(start, int(item.get("end") or start))
        except (TypeError, ValueError):
            start = end = 0
        found.append(
            Entity(entity=str(item["entity"]), value=str(item["value"]), start=start, end=end, text=text[start:end])
        )
    return found


class RasaHttpUnderstanding:
    """POST {base_url}/model/parse {"text": ...} on the Rasa server. When Rasa finds no
    entities, Makegood's own extractor reads the text (the same one the bot's pipeline uses).

    Any failure to get an answer (refused, timed out, HTTP error, not JSON) raises
    StoreUnavailable naming the server; the copilot never guesses a situation."""

    def __init__(self, base_url: str, timeout: float = 2.0, token: str | None = None) -> None:
        self.base_url = str(base_url).rstrip("/")
        self.timeout = float(timeout)
        self.token = token

    @property
    def url(self) -> str:
        url = f"{self.base_url}/model/parse"
        if self.token:
            url += "?" + urllib.parse.urlencode({"token": self.token})
        return url

    def parse(self, text: str) -> Parsed:
        text = text if isinstance(text, str) else ""
        body = json.dumps({"text": text}).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - our own Rasa server's configured URL
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own server
                data = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise StoreUnavailable(
                f"the language model at {self.base_url} is not reachable: it answered HTTP {exc.code}"
            ) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreUnavailable(f"the language model at {self.base_url} is not reachable: {reason}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise StoreUnavailable(
                f"the language model at {self.base_url} is not reachable: its answer is not JSON ({exc})"
            ) from None
        if not isinstance(data, dict):
            raise StoreUnavailable(f"the language model at {self.base_url} is not reachable: unexpected answer")
        raw_intent = data.get("intent")
        intent = raw_intent if isinstance(raw_intent, dict) else {}
        name = intent.get("name") or None
        try:
            confidence = float(intent.get("confidence") or 0.0)
        except (TypeError, ValueError):
            confidence = 0.0
        entities = _entities_from_rasa(text, data.get("entities"))
        if not entities:
            from makegood import nlp

            entities = nlp.extract(text)
        return Parsed(intent=str(name) if name else None, confidence=confidence, entities=entities)
