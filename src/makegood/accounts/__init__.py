"""User accounts for the human side (agent desk and copilot): users with a role, Argon2id
passwords, API tokens and browser sessions, plus what each role may do with remedies.

Roles: agent and supervisor propose and approve remedies (at their tier); a reviewer reviews
peer decisions after the fact; an admin manages users. Reviewers and admins never propose
or approve remedies.
"""

from __future__ import annotations

from makegood.accounts.schema import ROLES
from makegood.accounts.store import (
    DEMO_ACCOUNTS,
    AccountError,
    AccountStore,
    SignIn,
    User,
    csrf_ok,
    secret_hash,
    seed_demo_accounts,
)
from makegood.accounts.throttle import ThrottlePolicy
from makegood.policy.tiers import Tier, tier_of_role

REVIEW_ROLES = ("reviewer", "supervisor", "admin")


def tier_for_role(role: str) -> Tier | None:
    """The authority tier of a role: agent -> AGENT, supervisor -> SUPERVISOR; None for
    reviewers, admins (and anything else): they cannot propose or approve remedies."""
    tier = tier_of_role(role)
    return tier if tier in (Tier.AGENT, Tier.SUPERVISOR) else None  # no account role is "manager"


def ledger_role(role: str) -> str | None:
    """The role string `Ledger.decide` expects ("agent" / "supervisor"); None when the role
    may not decide proposals."""
    tier = tier_for_role(role)
    return None if tier is None else tier.value


def may_review(role: str) -> bool:
    """Reviewers, supervisors and admins record review verdicts on peer decisions."""
    return str(role or "").strip().lower() in REVIEW_ROLES


__all__ = [
    "DEMO_ACCOUNTS",
    "REVIEW_ROLES",
    "ROLES",
    "AccountError",
    "AccountStore",
    "SignIn",
    "ThrottlePolicy",
    "User",
    "csrf_ok",
    "ledger_role",
    "may_review",
    "secret_hash",
    "seed_demo_accounts",
    "tier_for_role",
]
