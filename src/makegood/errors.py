"""Errors a user can cause. Each carries one clear message naming what was wrong and where.

The CLI, the actions server and the HTTP API catch `MakegoodError` and show its message;
anything else is a bug and is allowed to surface as one.
"""


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
