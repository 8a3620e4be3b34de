"""Settings from the environment, read on every call (nothing happens at import time).

    MAKEGOOD_DATABASE_URL   SQLAlchemy URL of the ledger and customer store
                            (default: sqlite:///<project root>/var/makegood.db)
    MAKEGOOD_POLICY_PATH    the policy catalog file or directory (default: <project root>/policy)
    MAKEGOOD_IDENTITY_SECRET  the HMAC secret customer tokens are signed with (unset: every
                            chat is anonymous, since no token can be trusted)
    MAKEGOOD_CHAT_IDENTITY  `required` (default): only a chat bound to a customer by a signed
                            token sees orders, and only that customer's; `open`: development
                            only, an order number names its owner (never in production)
    MAKEGOOD_ATTACHMENTS_DIR  where the customers' photos are kept, by content hash
                            (default: <project root>/var/attachments)

The project root is the nearest directory, from the current one upwards, holding the
`pyproject.toml` of the `makegood` project; when there is none, the current directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from makegood.errors import MakegoodError

DATABASE_URL_VAR = "MAKEGOOD_DATABASE_URL"
POLICY_PATH_VAR = "MAKEGOOD_POLICY_PATH"
IDENTITY_SECRET_VAR = "MAKEGOOD_IDENTITY_SECRET"
CHAT_IDENTITY_VAR = "MAKEGOOD_CHAT_IDENTITY"
CHAT_IDENTITY_MODES = ("required", "open")
ATTACHMENTS_DIR_VAR = "MAKEGOOD_ATTACHMENTS_DIR"

_PROJECT_NAME = re.compile(r"""^\s*name\s*=\s*["']makegood["']\s*$""", re.MULTILINE)


@dataclass(frozen=True)
class Settings:
    database_url: str
    policy_path: Path
    identity_secret: str | None = None
    chat_identity: str = "required"
    attachments_dir: Path | None = None  # None only when built by hand: get_settings() always sets it


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
    mode = (env.get(CHAT_IDENTITY_VAR) or "required").strip().lower()
    if mode not in CHAT_IDENTITY_MODES:
        raise MakegoodError(f"{CHAT_IDENTITY_VAR} must be one of {', '.join(CHAT_IDENTITY_MODES)}, got {mode!r}")
    secret = (env.get(IDENTITY_SECRET_VAR) or "").strip() or None
    attachments = (env.get(ATTACHMENTS_DIR_VAR) or "").strip()
    attachments_dir = Path(attachments).expanduser() if attachments else the_root() / "var" / "attachments"
    return Settings(
        database_url=database_url,
        policy_path=policy_path,
        identity_secret=secret,
        chat_identity=mode,
        attachments_dir=attachments_dir,
    )
