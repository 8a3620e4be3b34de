"""Prometheus metrics: what an operator graphs and alerts on (docs/operations.md).

Each process (the actions server, the desk) keeps its own registry and serves it at
`/metrics`; Prometheus scrapes both. Names are `makegood_*`. Labels are bounded sets (action
names, route templates, situations, tiers, statuses): never a conversation id or free text.
"""

from __future__ import annotations

import os
import re

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)

# Buckets for turn and request latency: a chat turn is fine under 1 s, worrying over 3 s.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)

ACTIONS = Counter(
    "makegood_action_runs_total", "Custom action runs, by action and outcome", ["action", "outcome"], registry=REGISTRY
)
ACTION_SECONDS = Histogram(
    "makegood_action_seconds",
    "Time the actions server took to run one action",
    ["action"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
PROPOSALS = Counter(
    "makegood_proposals_logged_total",
    "Proposals this process wrote to the ledger, by situation, tier required and status when logged",
    ["situation", "tier", "status"],
    registry=REGISTRY,
)
DESK_REQUESTS = Counter(
    "makegood_desk_requests_total",
    "Desk HTTP requests, by route and status class",
    ["route", "status"],
    registry=REGISTRY,
)
DESK_SECONDS = Histogram(
    "makegood_desk_request_seconds",
    "Desk request latency, by route",
    ["route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

UNKNOWN = "other"


def bounded(value: object, allowed: frozenset[str] | set[str] | tuple[str, ...]) -> str:
    """A label value from a known set, else "other": a forged request cannot mint new series."""
    text = str(value or "")
    return text if text in allowed else UNKNOWN


_SITUATION = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def situation_label(situation: object) -> str:
    """A situation id as a label (catalog ids are snake_case); anything else is "other"."""
    text = str(situation or "")
    return text if _SITUATION.match(text) else UNKNOWN


def status_class(status: int) -> str:
    return f"{int(status) // 100}xx"


def exposition() -> tuple[bytes, str]:
    """(body, content type) for a /metrics response: this process's samples, or, when several
    worker processes share a port (PROMETHEUS_MULTIPROC_DIR set before start), all of theirs."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return generate_latest(combined), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
