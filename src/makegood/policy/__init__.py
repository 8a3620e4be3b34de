"""The policy engine: pure Python, no Rasa, no SQLAlchemy, no I/O beyond reading the catalog.

catalog = load_catalog("policy")
case = Case.build(catalog, "damaged_item", {"order_value": "80", "days_since_delivery": 3})
options(catalog, case, Tier.AGENT)
"""

from makegood.policy.case import Case
from makegood.policy.check import Verdict, check
from makegood.policy.fair_ask import FairAskResult, judge_ask
from makegood.policy.loader import load_catalog, parse_catalog
from makegood.policy.model import Catalog
from makegood.policy.options import Handoff, Option, OptionSet, options
from makegood.policy.payment_plan import Plan, PlanResult, plan_for
from makegood.policy.situations import SITUATIONS
from makegood.policy.tiers import Tier

__all__ = [
    "SITUATIONS",
    "Case",
    "Catalog",
    "FairAskResult",
    "Handoff",
    "Option",
    "OptionSet",
    "Plan",
    "PlanResult",
    "Tier",
    "Verdict",
    "check",
    "judge_ask",
    "load_catalog",
    "options",
    "parse_catalog",
    "plan_for",
]
