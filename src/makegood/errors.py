"""Errors a user can cause. Each carries one clear message naming what was wrong and where.

The CLI, the actions server and the HTTP API catch `MakegoodError` and show its message;
anything else is a bug and is allowed to surface as one.
"""

MAX_SHOWN = 400  # an error may quote what the client sent; a 100 KB key must not come back whole


def shown(message: str) -> str:
    """A message as it is shown to a client: one line, at most MAX_SHOWN characters."""
    message = " ".join(str(message).split())
    return message if len(message) <= MAX_SHOWN else message[: MAX_SHOWN - 1] + "…"


class MakegoodError(Exception):
    """Base for every error whose message is fit to show a user."""


class PolicyError(MakegoodError):
    """The policy catalog is missing, malformed or inconsistent."""


class CaseError(MakegoodError):
    """A case (situation + facts) or a requested option is invalid: unknown situation,
    unknown fact, negative or absurd amount, wrong type."""


class LedgerError(MakegoodError):
    """A ledger operation was refused (unknown proposal, forbidden decision, ...)."""


class DecisionConflict(LedgerError):
    """Another decision on the same proposal won a race; re-read and try again."""


class StoreUnavailable(MakegoodError):
    """The database (ledger or customer store) could not be reached."""


class LimitReached(LedgerError):
    """Granting this remedy would take an order or a customer past a cumulative limit
    (catalog `per_order`, `per_customer`, the order's total, or exceptions per period).
    Nothing was granted; `rule` names the limit."""

    def __init__(self, message: str, rule: str):
        super().__init__(message)
        self.rule = rule
