"""Head anchors: copies of the audit chain's head kept outside the database.

The hash chain shows that nothing *inside* it was edited, but someone who can write to the
database can delete the newest events (and the rows they vouch for) or rewrite the chain from
some point on, and the shortened chain is still a valid chain. An anchor is the chain's head
at a moment — how many events, the last one's hash, when — appended as one JSON line to a
log the operator ships elsewhere (another host, object storage with retention, a ticket):

    {"at": "2026-12-01T20:00:00+00:00", "events": 1532, "head_hash": "9f3c..."}

`makegood ledger anchor --out FILE` appends one; `makegood ledger verify --anchor FILE` checks
that the chain still holds each anchored head at its position, so a deleted or rewritten tail
is caught. Only hashes and counts are written: an anchor log reveals nothing about cases.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from makegood.errors import LedgerError

_HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_ANCHOR_FILE = 50_000_000  # bytes: about 500,000 anchors; more is not an anchor log


@dataclass(frozen=True)
class Anchor:
    events: int  # audit events in the chain at that moment (the last one's id)
    head_hash: str  # hash of event `events` (64 zeros for an empty chain)
    at: str  # ISO-8601 UTC time of anchoring
    source: str = ""  # the anchor log it was read from
    line: int = 0  # its line there

    def as_json(self) -> dict[str, object]:
        return {"at": self.at, "events": self.events, "head_hash": self.head_hash}


def make_anchor(events: int, head_hash: str, at: datetime | None = None) -> Anchor:
    stamp = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")
    return Anchor(events=int(events), head_hash=str(head_hash), at=stamp)


def anchor_line(anchor: Anchor) -> str:
    return json.dumps(anchor.as_json(), sort_keys=True, separators=(", ", ": "))


def append_anchor(path: str | Path, anchor: Anchor) -> Path:
    """Append one line to the anchor log at `path` (created if missing) and fsync it."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise LedgerError(f"{path}: not a regular file; the anchor log must be a file")
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(anchor_line(anchor) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise LedgerError(f"cannot write the anchor log {path}: {exc.strerror or exc}") from None
    return path


def read_anchors(path: str | Path) -> tuple[list[Anchor], list[str]]:
    """(anchors, problems) from an anchor log. A file that cannot be read at all is a
    LedgerError (a usage error: wrong path); a line that is not an anchor is a problem
    (the log itself was damaged), reported next to the chain's own."""
    path = Path(path)
    try:
        if not path.is_file():
            raise LedgerError(
                f"{path}: no such anchor log"
                if not path.exists()
                else f"{path}: not a regular file; the anchor log must be a file"
            )
        if path.stat().st_size > MAX_ANCHOR_FILE:
            raise LedgerError(f"{path}: larger than {MAX_ANCHOR_FILE // 1_000_000} MB; is this an anchor log?")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LedgerError(f"cannot read the anchor log {path}: {exc.strerror or exc}") from None
    anchors: list[Anchor] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            events, head_hash, at = data["events"], data["head_hash"], data["at"]
            valid = (
                isinstance(events, int)
                and not isinstance(events, bool)
                and events >= 0
                and isinstance(head_hash, str)
                and _HASH.match(head_hash) is not None
                and isinstance(at, str)
            )
        except (ValueError, TypeError, KeyError):
            valid = False
        if not valid:
            problems.append(
                f'{path} line {number} is not an anchor (expected {{"at": ..., "events": N, '
                f'"head_hash": 64 hex digits}}): the anchor log was damaged'
            )
            continue
        anchors.append(Anchor(events=events, head_hash=head_hash, at=at, source=str(path), line=number))
    if not anchors and not problems:
        problems.append(f"{path} holds no anchors: nothing to check the chain's tail against")
    return anchors, problems
