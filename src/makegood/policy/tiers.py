"""Authority tiers, ordered from least to most authority."""

from __future__ import annotations

from enum import Enum

from makegood.errors import CaseError


class Tier(str, Enum):
    SELF_SERVICE = "self_service"  # the bot alone
    AGENT = "agent"
    PEER = "peer"  # two different agents agree
    SUPERVISOR = "supervisor"
    MANAGER = "manager"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    # All four comparisons are spelled out: as a `str` subclass, Tier would otherwise
    # inherit alphabetical ordering ("agent" < "self_service"), which is exactly wrong.
    def __lt__(self, other: object) -> bool:
        return self.rank < _rank(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank(other)

    __hash__ = str.__hash__

    @property
    def a(self) -> str:
        """'an agent', 'a supervisor': for sentences people read."""
        article = "an" if self.value[0] in "aeiou" else "a"
        return f"{article} {self.value.replace('_', '-')}"

    def __str__(self) -> str:  # so f-strings and logs show "agent", not "Tier.AGENT"
        return self.value

    @classmethod
    def parse(cls, text: str) -> Tier:
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            names = ", ".join(t.value for t in _ORDER)
            raise CaseError(f"unknown authority tier {text!r}; expected one of: {names}") from None

    @classmethod
    def ordered(cls) -> tuple[Tier, ...]:
        return _ORDER


_ORDER: tuple[Tier, ...] = (
    Tier.SELF_SERVICE,
    Tier.AGENT,
    Tier.PEER,
    Tier.SUPERVISOR,
    Tier.MANAGER,
)


def _rank(other: object) -> int:
    if not isinstance(other, Tier):
        raise TypeError(f"cannot compare a Tier with {type(other).__name__}")
    return other.rank


# Which tier of authority a person's role carries: the one table the ledger's decision rules,
# the accounts, the copilot and the desk all read. Reviewers and admins carry none.
ROLE_TIERS: dict[str, Tier] = {"agent": Tier.AGENT, "supervisor": Tier.SUPERVISOR, "manager": Tier.MANAGER}


def tier_of_role(role: object) -> Tier | None:
    return ROLE_TIERS.get(str(role or "").strip().lower())
