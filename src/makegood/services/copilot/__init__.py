"""The agent copilot's logic: read a live chat, say which situation it is, show the options
inside the signed-in agent's authority (and who could approve the rest), suggest what to
say and what to ask next, and log the remedy the agent chooses — re-checked server-side.

No HTTP here (see `makegood.desk`); `suggest` and `log` take `makegood.services.bootstrap.Services`.
"""

from makegood.services.copilot.core import (
    APPROVAL_TIERS,
    CHANNEL,
    MAX_TURN_CHARS,
    MAX_TURNS,
    MIN_CONFIDENCE,
    CopilotForbidden,
    LogRequest,
    Suggestion,
    SuggestRequest,
    agent_tier,
    apologies,
    conversation_facts,
    log,
    needs_approval,
    option_json,
    question_for,
    suggest,
    validate_turns,
)
from makegood.services.copilot.understanding import Parsed, RasaHttpUnderstanding, Understanding

__all__ = [
    "APPROVAL_TIERS",
    "CHANNEL",
    "MAX_TURNS",
    "MAX_TURN_CHARS",
    "MIN_CONFIDENCE",
    "CopilotForbidden",
    "LogRequest",
    "Parsed",
    "RasaHttpUnderstanding",
    "SuggestRequest",
    "Suggestion",
    "Understanding",
    "agent_tier",
    "apologies",
    "conversation_facts",
    "log",
    "needs_approval",
    "option_json",
    "question_for",
    "suggest",
    "validate_turns",
]
