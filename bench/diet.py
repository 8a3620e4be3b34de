"""The landed DIET model, for comparison: the NLU pipeline as it was before MiniLM landed
(bench/configs/diet.yml, recovered from git), trained with `rasa train nlu` on data/nlu into
models/bench/ (git-ignored).

The trained model is cached by a fingerprint of the config, every file under data/nlu and
the Rasa version: a second `make bench` with the same inputs loads it instead of training.
A smoke run never trains; it uses a cached model when there is one and skips DIET otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "bench" / "configs" / "diet.yml"
NLU_DATA = ROOT / "data" / "nlu"
OUT = ROOT / "models" / "bench"
TIMING = OUT / "diet-training.json"  # how long the last training took: the next estimate
LOG = OUT / "diet-training.log"
DEFAULT_MINUTES = 4


def fingerprint() -> str:
    import rasa

    digest = hashlib.sha256()
    digest.update(f"rasa {rasa.__version__}\n".encode())
    digest.update(CONFIG.read_bytes())
    for path in sorted(p for p in NLU_DATA.rglob("*") if p.is_file()):
        digest.update(f"\n{path.relative_to(NLU_DATA).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(fp: str) -> Path:
    return OUT / f"diet-{fp}.tar.gz"


def _estimate_minutes() -> int:
    try:
        return max(1, round(json.loads(TIMING.read_text(encoding="utf-8"))["seconds"] / 60))
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_MINUTES


def ensure(train: bool, say: Callable[[str], None]) -> dict:
    """The cached DIET model for the current config + data, trained first when `train` and
    there is none. Returns {"path": relative to the checkout, or None, "fingerprint", "trained_now", "train_seconds",
    "skipped": reason | None, "error": str | None}."""
    fp = fingerprint()
    path = model_path(fp)
    info = {
        "path": None,
        "fingerprint": fp,
        "trained_now": False,
        "train_seconds": None,
        "skipped": None,
        "error": None,
        "config": str(CONFIG.relative_to(ROOT)),
    }
    if path.is_file():
        say(f"the landed DIET model: cached {path.relative_to(ROOT)} (config and data/nlu unchanged)")
        info["path"] = str(path.relative_to(ROOT))
        try:
            info["train_seconds"] = json.loads(TIMING.read_text(encoding="utf-8")).get("seconds")
        except (OSError, ValueError):
            pass
        return info
    if not train:
        info["skipped"] = (
            "smoke run: no cached model in models/bench/ for this config and data, and a smoke run never trains"
        )
        say(f"the landed DIET model: {info['skipped']}")
        return info

    say(
        f"training the landed DIET model for comparison (about {_estimate_minutes()} minutes; "
        f"log: {LOG.relative_to(ROOT)})…"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="makegood-bench-diet-cache-") as cache,
        LOG.open("w", encoding="utf-8") as log,
    ):
        # A cache directory of its own: nothing of this run lands in the project's .rasa/ cache.
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RASA_CACHE_DIRECTORY": cache, "RASA_TELEMETRY_ENABLED": "false"}
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "rasa"),
                "train",
                "nlu",
                "--config",
                str(CONFIG.relative_to(ROOT)),
                "--nlu",
                str(NLU_DATA.relative_to(ROOT)),
                "--out",
                str(OUT.relative_to(ROOT)),
                "--fixed-model-name",
                path.name[: -len(".tar.gz")],
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    seconds = round(time.perf_counter() - started, 1)
    if result.returncode != 0 or not path.is_file():
        tail = LOG.read_text(encoding="utf-8", errors="replace")[-2000:]
        info["error"] = f"`rasa train nlu` exited with {result.returncode}: {tail}"
        say(f"the landed DIET model did not train (exit {result.returncode}); see {LOG.relative_to(ROOT)}")
        return info
    for old in OUT.glob("diet-*.tar.gz"):  # models for older configs or data: never loaded again
        if old != path:
            old.unlink()
    TIMING.write_text(json.dumps({"seconds": seconds, "fingerprint": fp}), encoding="utf-8")
    say(f"the landed DIET model trained in {seconds:.0f} s: {path.relative_to(ROOT)}")
    info.update(path=str(path.relative_to(ROOT)), trained_now=True, train_seconds=seconds)
    return info
