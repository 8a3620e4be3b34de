"""Settings from the environment, read on every call (nothing happens at import time).

    MAKEGOOD_DATABASE_URL   SQLAlchemy URL of the ledger and customer store
                            (default: sqlite:///<project root>/var/makegood.db)
    MAKEGOOD_POLICY_PATH    the policy catalog file or directory (default: <project root>/policy)

The project root is the nearest directory, from the current one upwards, holding the
`pyproject.toml` of the `makegood` project; when there is none, the current directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATABASE_URL_VAR = "MAKEGOOD_DATABASE_URL"
POLICY_PATH_VAR = "MAKEGOOD_POLICY_PATH"

_PROJECT_NAME = re.compile(r"""^\s*name\s*=\s*["']makegood["']\s*$""", re.MULTILINE)


@dataclass(frozen=True)
class Settings:
    database_url: str
    policy_path: Path


def project_root(start: Path | None = None) -> Path:
    """The nearest parent of `start` (default: the cwd) with makegood's pyproject.toml, else `start`."""
    here = Path(start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        pyproject = directory / "pyproject.toml"
        try:
            if pyproject.is_file() and _PROJECT_NAME.search(pyproject.read_text(encoding="utf-8")):
                return directory
        except OSError:
            continue
    return here


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings now. The default SQLite database's `var/` directory is created
    when needed (only when the default is used)."""
    env = os.environ if environ is None else environ
    root: Path | None = None

    def the_root() -> Path:
        nonlocal root
        if root is None:
            root = project_root()
        return root

    database_url = (env.get(DATABASE_URL_VAR) or "").strip()
    if not database_url:
        var = the_root() / "var"
        var.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{var / 'makegood.db'}"

    policy = (env.get(POLICY_PATH_VAR) or "").strip()
    policy_path = Path(policy).expanduser() if policy else the_root() / "policy"
    return Settings(database_url=database_url, policy_path=policy_path)
