"""Canonical JSON and digests for the audit chain.

Canonical JSON: keys sorted, separators (",", ":"), ASCII only, Decimals as strings, no
NaN or infinities. The same value always gives the same text, so the same hash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

from makegood.errors import LedgerError

GENESIS_HASH = "0" * 64


def plain(value: Any, where: str = "value") -> Any:
    """`value` as plain JSON data (dict, list, str, int, float, bool, None).

    Decimal -> its text ("45.00"), Enum -> its value, dates -> ISO text, tuples -> lists,
    dataclasses -> dicts of their fields. Anything else is refused with a LedgerError
    naming `where`, so nothing is stored that would read back differently.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # the common cases, first
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                if isinstance(key, Enum):
                    key = key.value
                if not isinstance(key, str):
                    raise LedgerError(f"{where} has the key {key!r}; only text keys can be stored")
            out[key] = plain(item, f"{where}.{key}")
        return out
    if kind is list:
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (bool, str, int)) and not isinstance(value, Enum):
        return value
    if isinstance(value, Enum):
        return plain(value.value, where)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LedgerError(f"{where} holds {value!r}, which cannot be stored (not a finite number)")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise LedgerError(f"{where} holds {value!r}, which cannot be stored (not a finite amount)")
        return str(value)
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if isinstance(key, Enum):
                key = key.value
            if not isinstance(key, str):
                raise LedgerError(f"{where} has the key {key!r}; only text keys can be stored")
            out[key] = plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise LedgerError(f"{where} holds a {type(value).__name__} ({shown}), which cannot be stored as JSON")


def canonical(value: Any) -> str:
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: one spelling per instant."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def row_snapshot(row: Mapping[str, Any]) -> dict[str, Any]:
    """A database row (as read back) as canonical-ready data."""
    return {key: (iso(value) if isinstance(value, datetime) else plain(value, key)) for key, value in row.items()}


def row_digest(snapshot: Mapping[str, Any]) -> str:
    return sha256(canonical(snapshot))


def audit_record(at: datetime, change: Mapping[str, Any] | None, table: str, row: Mapping[str, Any]) -> tuple[str, str]:
    """(payload, row_digest) of an audit event: payload is canonical JSON of
    {"at", "change", "row": row_snapshot(row), "table"}, row_digest is row_digest(snapshot).

    The same text as `canonical({...})` and `row_digest(snapshot)` (a test holds it to that),
    with the snapshot made plain and serialised once instead of three times: the group commit
    appends hundreds of events per transaction and this was most of its time."""
    snapshot = row_snapshot(row)
    row_json = _dumps(snapshot)
    change_json = _dumps(plain(dict(change or {})))
    payload = f'{{"at":"{iso(at)}","change":{change_json},"row":{row_json},"table":{_dumps(table)}}}'
    return payload, sha256(row_json)


def _dumps(value: Any) -> str:
    """canonical() of a value that is already plain."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def chain_hash(prev_hash: str, kind: str, payload: str, digest: str) -> str:
    return sha256(prev_hash + kind + payload + digest)
