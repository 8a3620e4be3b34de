"""Metric labels stay a bounded set whatever a request carries."""

from __future__ import annotations

import pytest

from makegood.metrics import UNKNOWN, bounded, situation_label, status_class


def test_a_label_outside_the_known_set_is_other():
    known = frozenset({"validate_case_form", "action_handoff"})
    assert bounded("action_handoff", known) == "action_handoff"
    assert bounded("action_" + "x" * 500, known) == UNKNOWN
    assert bounded(None, known) == UNKNOWN


@pytest.mark.parametrize(
    ("situation", "label"),
    [("damaged_item", "damaged_item"), ("Damaged Item", UNKNOWN), ("x" * 49, UNKNOWN), ("", UNKNOWN), (None, UNKNOWN)],
)
def test_situation_labels_are_catalog_shaped_ids_only(situation, label):
    assert situation_label(situation) == label


def test_status_classes():
    assert [status_class(s) for s in (200, 201, 303, 404, 503)] == ["2xx", "2xx", "3xx", "4xx", "5xx"]


def test_workers_sharing_a_port_are_scraped_as_one(tmp_path):
    """With several actions-server workers, a scrape reaches one of them: in multiprocess mode
    each worker writes its samples to the shared directory and /metrics adds them all up."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from makegood import metrics; metrics.ACTIONS.labels('action_handoff', 'ok').inc()"
    for _ in range(2):  # two worker processes, one turn each
        subprocess.run([sys.executable, "-c", count], env=env, check=True)
    scrape = "from makegood import metrics; print(metrics.exposition()[0].decode())"
    body = subprocess.run([sys.executable, "-c", scrape], env=env, check=True, capture_output=True, text=True).stdout
    assert 'makegood_action_runs_total{action="action_handoff",outcome="ok"} 2.0' in body
