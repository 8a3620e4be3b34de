"""The OpenAPI 3.0 description of the copilot HTTP API, written by hand (served at
GET /api/openapi.json). Keep it in step with makegood.desk.api and makegood.services.copilot."""

from __future__ import annotations

import copy
from typing import Any

from makegood.policy.model import REMEDY_KINDS

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
    "413": {"$ref": "#/components/responses/TooLarge"},
    "503": {"$ref": "#/components/responses/Unavailable"},
}

_MONEY = {
    "type": "string",
    "pattern": r"^\d+(\.\d{1,2})?$",
    "example": "25.00",
    "description": "Money as a decimal string (never a float).",
}

_OPTION = {
    "type": "object",
    "description": "An option the engine allows, with the rule that allows it.",
    "required": ["remedy", "size", "kind", "required_tier", "rule", "text"],
    "properties": {
        "remedy": {"type": "string", "example": "partial_refund"},
        "size": {
            "type": "string",
            "nullable": True,
            "description": 'Money ("25.00") or whole days ("14"), as text; null for a remedy '
            "with no size (kind item or none).",
            "example": "25.00",
        },
        "kind": {"type": "string", "enum": list(REMEDY_KINDS)},
        "cost": _MONEY,
        "required_tier": {"$ref": "#/components/schemas/Tier"},
        "rule": {"type": "string", "example": "damaged_item.partial_refund"},
        "cap_rule": {"type": "string", "example": "damaged_item.partial_refund.agent"},
        "reduced_from": {"type": "string", "nullable": True},
        "text": {"type": "string", "example": "$25 back to your original payment method"},
    },
}

# -- the live inbox (makegood.desk.live) -------------------------------------------------------------
_CONVERSATION_ID = {
    "name": "conversation_id",
    "in": "path",
    "required": True,
    "description": "Rasa's sender id of the handed-over conversation.",
    "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:@-]{1,128}$"},
}
_LIVE_WRITE_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": _error("A reviewer or admin (they may only read), a missing X-CSRF-Token, or not the owner."),
    "404": _error("No handed-over conversation has this id."),
    "503": _error("The assistant (Rasa) or the database cannot be reached; nothing was stored or sent."),
}
_CONVERSATION_ANSWER = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"conversation": {"$ref": "#/components/schemas/LiveConversation"}},
            }
        }
    }
}
_LIVE_PATHS: dict[str, Any] = {
    "/api/conversations": {
        "get": {
            "operationId": "listConversations",
            "summary": "The live inbox: conversations the bot handed over",
            "description": "Every role may read. `waiting`: nobody has them yet (longest wait first); `mine`: "
            "claimed by the caller; `all`: waiting and claimed (released ones are the bot's again).",
            "parameters": [
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": ["waiting", "mine", "all"]}}
            ],
            "responses": {
                "200": {
                    "description": "The conversations.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "conversations": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/LiveConversation"},
                                    }
                                },
                            }
                        }
                    },
                },
                "400": {"$ref": "#/components/responses/BadRequest"},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "503": {"$ref": "#/components/responses/Unavailable"},
            },
        }
    },
    "/api/conversations/{conversation_id}": {
        "get": {
            "operationId": "getConversation",
            "summary": "One conversation: transcript, handoff packet, proposals, photos",
            "description": "The transcript is Rasa's tracker (customer, bot and agent turns in order). When Rasa "
            "cannot be reached the rest is still answered, with `transcript_error` saying why.",
            "parameters": [_CONVERSATION_ID],
            "responses": {
                "200": {
                    "description": "The conversation.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LiveDetails"}}},
                },
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "404": _error("No handed-over conversation has this id."),
            },
        }
    },
    "/api/conversations/{conversation_id}/claim": {
        "post": {
            "operationId": "claimConversation",
            "summary": "Become the one agent in this conversation (agents and supervisors)",
            "description": "The customer is told who is there (Hi, I'm Alice, …). Of racing claims exactly one "
            "wins; the others get 409. If Rasa cannot take the intro, the claim is undone (503).",
            "parameters": [_CONVERSATION_ID],
            "responses": {
                "200": {"description": "Claimed.", **_CONVERSATION_ANSWER},
                **_LIVE_WRITE_ERRORS,
                "409": _error("Someone else claimed it first, or it is back with the bot."),
            },
        }
    },
    "/api/conversations/{conversation_id}/messages": {
        "post": {
            "operationId": "sendMessage",
            "summary": "Write to the customer (the owner only)",
            "description": "Appended to Rasa's tracker as a bot event naming the agent (delivered by channels "
            "that can push, such as socket.io) and pushed to the web chat page.",
            "parameters": [_CONVERSATION_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["text"],
                            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 2000}},
                        }
                    }
                },
            },
            "responses": {"201": {"description": "Sent and stored."}, **_LIVE_WRITE_ERRORS},
        }
    },
    "/api/conversations/{conversation_id}/deliveries": {
        "post": {
            "operationId": "deliverDecision",
            "summary": "Tell the customer a decision on a request made in this chat, and record that it was told",
            "description": "Approved: the agent who owns the chat tells the customer (marks `context.delivered_by`). "
            "Rejected by a supervisor: that supervisor tells the customer, even in a chat they do not own, with "
            "what the agent can offer instead (marks `context.denial_delivered_by`). The pre-filled wording is "
            "in `tellings` of GET /api/conversations/{conversation_id}. Sent like a message: Rasa's transcript, "
            "then the web chat's push.",
            "parameters": [_CONVERSATION_ID],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["proposal_id", "text"],
                            "properties": {
                                "proposal_id": {"type": "string", "example": "P-7K2M9Q"},
                                "text": {"type": "string", "minLength": 1, "maxLength": 2000},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "Told: the message and the telling it delivered."},
                **_LIVE_WRITE_ERRORS,
                "400": _error("Not JSON, no text or proposal_id, not decided yet, or not a request of this chat."),
                "403": _error("Someone else tells the customer (the chat's owner, or the rejecting supervisor)."),
                "404": _error("No such conversation or proposal."),
                "409": _error("The customer was already told about this decision."),
            },
        }
    },
    "/api/conversations/{conversation_id}/release": {
        "post": {
            "operationId": "releaseConversation",
            "summary": "Hand the conversation back to the bot (the owner only)",
            "description": "Rasa resumes the conversation (its slots and case intact) and says a short line.",
            "parameters": [_CONVERSATION_ID],
            "responses": {"200": {"description": "Back with the bot.", **_CONVERSATION_ANSWER}, **_LIVE_WRITE_ERRORS},
        }
    },
}
_LIVE_SCHEMAS: dict[str, Any] = {
    "LiveConversation": {
        "type": "object",
        "properties": {
            "conversation_id": {"type": "string"},
            "state": {"type": "string", "enum": ["waiting", "claimed", "released"]},
            "owner": {"type": "string", "nullable": True},
            "mine": {"type": "boolean"},
            "customer_id": {"type": "string", "nullable": True},
            "handoff_proposal_id": {"type": "string", "nullable": True},
            "reason": {"type": "string"},
            "handed_over_at": {"type": "string", "format": "date-time"},
            "claimed_at": {"type": "string", "format": "date-time", "nullable": True},
        },
    },
    "LiveDetails": {
        "type": "object",
        "properties": {
            "conversation": {"$ref": "#/components/schemas/LiveConversation"},
            "may_work": {"type": "boolean"},
            "transcript": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "speaker": {"type": "string", "enum": ["customer", "bot", "agent"]},
                        "text": {"type": "string"},
                        "agent": {"type": "string", "nullable": True},
                    },
                },
            },
            "transcript_error": {"type": "string", "nullable": True},
            "case": {"type": "object", "nullable": True, "description": "Situation, order, facts and the packet."},
            "proposals": {"type": "array", "items": {"type": "object"}},
            "attachments": {"type": "array", "items": {"type": "object"}},
            "tellings": {
                "type": "array",
                "description": "Decisions on this chat's requests the customer has not been told: outcome, "
                "decided_by, teller (who tells; null while nobody has the chat), mine, what, alternatives "
                "(rejected: what the agent may offer instead) and the pre-filled wording.",
                "items": {"type": "object"},
            },
        },
    },
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Makegood copilot API",
        "version": "1.0.0",
        "description": (
            "What a human agent may offer in a live chat, checked against the policy catalog, and a "
            "way to log the option they choose in the proposal ledger.\n\n"
            "Authority comes from the signed-in user's role (agent or supervisor); reviewers and admins "
            "get 403. Company facts (membership, order value, history) come from the customer store, "
            "never from the request. Money is always a decimal string. Request bodies over 1 MB get 413."
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}, {"sessionCookie": [], "csrfHeader": []}],
    "paths": {
        "/api/copilot/suggest": {
            "post": {
                "operationId": "suggest",
                "summary": "Suggest what the agent may offer now",
                "description": (
                    "Reads the customer's turns (language understanding picks the situation and the facts "
                    "mentioned), looks the order or customer up, and returns the options within the agent's "
                    "authority, those needing a peer, supervisor or manager, what is missing, and "
                    "Listen-Apologize-Solve-Thank phrasing. Writes nothing."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SuggestRequest"},
                            "example": {
                                "turns": [
                                    {
                                        "speaker": "customer",
                                        "text": "my dinner set from order MG-10422 arrived smashed",
                                    },
                                    {"speaker": "agent", "text": "I'm so sorry to hear that"},
                                ]
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The suggestion.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Suggestion"}}},
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/copilot/log": {
            "post": {
                "operationId": "logOption",
                "summary": "Log the option the agent is offering",
                "description": (
                    "Re-checks the remedy server-side (sizes and tiers from the browser are never trusted) "
                    "and records a proposal: `accepted` when it is within the agent's authority, `pending` at "
                    "the tier that must approve it otherwise (for peer, the agent counts as the first of "
                    "two). Idempotent on `idempotency_key` (else on remedy, size, situation and order): "
                    "201 when stored now, 200 when it was already logged."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/LogRequest"},
                            "example": {
                                "conversation_id": "desk-alice-1",
                                "situation": "damaged_item",
                                "order_id": "MG-10422",
                                "remedy": "partial_refund",
                                "size": "25.00",
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Already logged: the stored proposal, unchanged.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proposal"}}},
                    },
                    "201": {
                        "description": "Logged now.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Proposal"}}},
                    },
                    **_ERRORS,
                    "409": {"$ref": "#/components/responses/Conflict"},
                },
            }
        },
        "/api/analytics": {
            "get": {
                "operationId": "analytics",
                "summary": "The analytics figures: exceptions, asks, limits, decisions, reviews, cost",
                "description": (
                    "The figures behind the desk's analytics page, each a table with named columns (money as "
                    "decimal strings). Supervisors, reviewers and admins see every case and may filter by agent; "
                    "an agent sees only the cases they requested or decided, and gets 403 for anyone else's. "
                    "With `format=csv` and `table=NAME`, one table as CSV. Writes nothing."
                ),
                "parameters": [
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "situation", "in": "query", "schema": {"type": "string"}},
                    {"name": "agent", "in": "query", "schema": {"type": "string", "maxLength": 128}},
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}},
                    {
                        "name": "table",
                        "in": "query",
                        "description": "With format=csv: which table (a key of `tables`).",
                        "schema": {"type": "string", "example": "limits"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The figures (JSON), or one table (CSV).",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/AnalyticsFigures"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "403": _error("An agent asking for another agent's figures."),
                    "503": {"$ref": "#/components/responses/Unavailable"},
                },
            }
        },
        **_LIVE_PATHS,
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token (`makegood users token NAME`).",
            },
            "sessionCookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": "mg_session",
                "description": "The agent desk's session cookie (sign in at /login).",
            },
            "csrfHeader": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRF-Token",
                "description": "Required with the session cookie: the page's csrf-token meta value.",
            },
        },
        "responses": {
            "BadRequest": _error(
                "Malformed JSON, a field of the wrong type, an unknown situation, remedy or "
                "fact, or a remedy outside policy. The message names what was wrong."
            ),
            "Unauthorized": _error("No valid bearer token or session."),
            "Forbidden": _error(
                "Missing or wrong X-CSRF-Token with a session, or a role that may not use "
                "the copilot (reviewer, admin)."
            ),
            "Conflict": _error("Someone changed the same proposal a moment ago; retry."),
            "TooLarge": _error("The request body is larger than 1 MB."),
            "Unavailable": _error("The database or the language model cannot be reached."),
        },
        "schemas": {
            **_LIVE_SCHEMAS,
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string", "example": "turns[0].text must be a string"}},
            },
            "Tier": {"type": "string", "enum": ["self_service", "agent", "peer", "supervisor", "manager"]},
            "Turn": {
                "type": "object",
                "required": ["speaker", "text"],
                "additionalProperties": False,
                "properties": {
                    "speaker": {"type": "string", "enum": ["customer", "agent"]},
                    "text": {
                        "type": "string",
                        "maxLength": 5000,
                        "description": "Longer texts are cut to 5000 characters.",
                    },
                },
            },
            "Facts": {
                "type": "object",
                "description": (
                    "Conversation facts only: disputed_amount, debt_amount, price_difference, "
                    "outage_hours, customer_at_fault, days_past_window. Company facts are refused."
                ),
                "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
                "example": {"disputed_amount": "35.00"},
            },
            "SuggestRequest": {
                "type": "object",
                "required": ["turns"],
                "properties": {
                    "turns": {"type": "array", "maxItems": 200, "items": {"$ref": "#/components/schemas/Turn"}},
                    "customer_id": {"type": "string", "nullable": True, "maxLength": 32, "example": "C-1001"},
                    "order_id": {"type": "string", "nullable": True, "maxLength": 32, "example": "MG-10422"},
                    "facts": {"$ref": "#/components/schemas/Facts"},
                },
            },
            "Option": _OPTION,
            "Suggestion": {
                "type": "object",
                "required": [
                    "situation",
                    "confidence",
                    "tier",
                    "in_authority",
                    "needs_approval",
                    "missing_facts",
                    "phrasing",
                    "policy_version",
                ],
                "properties": {
                    "situation": {
                        "type": "string",
                        "nullable": True,
                        "example": "damaged_item",
                        "description": "null when no situation is recognised yet.",
                    },
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "tier": {"$ref": "#/components/schemas/Tier"},
                    "order_id": {"type": "string", "nullable": True},
                    "customer_id": {"type": "string", "nullable": True},
                    "facts": {"type": "object", "additionalProperties": True},
                    "in_authority": {"type": "array", "items": {"$ref": "#/components/schemas/Option"}},
                    "needs_approval": {
                        "type": "object",
                        "description": "Options beyond the agent's authority, by the tier that could approve them.",
                        "properties": {
                            t: {"type": "array", "items": {"$ref": "#/components/schemas/Option"}}
                            for t in ("peer", "supervisor", "manager")
                        },
                    },
                    "blocked": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "remedy": {"type": "string"},
                                "rule": {"type": "string"},
                                "reason": {"type": "string"},
                            },
                        },
                    },
                    "missing_facts": {"type": "array", "items": {"type": "string"}},
                    "next_question": {"type": "string", "nullable": True},
                    "handoff": {
                        "type": "object",
                        "nullable": True,
                        "properties": {"tier": {"$ref": "#/components/schemas/Tier"}, "reason": {"type": "string"}},
                    },
                    "phrasing": {
                        "type": "object",
                        "description": "Listen-Apologize-Solve-Thank.",
                        "properties": {
                            k: {"type": "string", "nullable": True} for k in ("listen", "apologize", "solve", "thank")
                        },
                    },
                    "ask_what_is_fair": {"type": "boolean"},
                    "policy_version": {"type": "string"},
                    "rules_cited": {"type": "array", "items": {"type": "string"}},
                    "notes": {"type": "array", "items": {"type": "string"}},
                },
            },
            "LogRequest": {
                "type": "object",
                "required": ["conversation_id", "situation", "remedy"],
                "description": "Give order_id or customer_id: remedies are logged for a known customer.",
                "properties": {
                    "conversation_id": {"type": "string", "maxLength": 128},
                    "situation": {"type": "string", "example": "damaged_item"},
                    "order_id": {"type": "string", "nullable": True, "maxLength": 32},
                    "customer_id": {"type": "string", "nullable": True, "maxLength": 32},
                    "facts": {"$ref": "#/components/schemas/Facts"},
                    "remedy": {"type": "string", "example": "partial_refund"},
                    "size": {
                        "oneOf": [{"type": "string"}, {"type": "number"}],
                        "nullable": True,
                        "description": "Omit for the remedy's own size in this case.",
                    },
                    "customer_ask": {
                        "type": "object",
                        "nullable": True,
                        "additionalProperties": True,
                        "example": {"remedy": "full_refund", "size": "129.00"},
                    },
                    "transcript": {"type": "array", "maxItems": 200, "items": {"$ref": "#/components/schemas/Turn"}},
                    "idempotency_key": {"type": "string", "nullable": True, "maxLength": 100},
                },
            },
            "Decision": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "actor": {"type": "string"},
                    "role": {"type": "string"},
                    "decision": {"type": "string", "enum": ["approve", "cosign", "reject", "escalate"]},
                    "tier": {"$ref": "#/components/schemas/Tier"},
                    "note": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
            "AnalyticsTable": {
                "type": "object",
                "required": ["title", "columns", "rows"],
                "properties": {
                    "title": {"type": "string"},
                    "note": {"type": "string", "description": "How the figures are defined."},
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "rows": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                        },
                    },
                },
            },
            "AnalyticsFigures": {
                "type": "object",
                "required": ["filters", "scope", "cases", "tables"],
                "properties": {
                    "filters": {"type": "object", "additionalProperties": {"type": "string", "nullable": True}},
                    "scope": {"type": "string", "example": "all cases"},
                    "policy_version": {"type": "string"},
                    "cases": {"type": "integer"},
                    "truncated": {"type": "boolean"},
                    "ratings_available": {"type": "boolean"},
                    "notes": {"type": "array", "items": {"type": "string"}},
                    "tables": {
                        "type": "object",
                        "description": (
                            "exceptions, asked_vs_given, limits, outcomes, time_to_decision, reviews_by_situation, "
                            "reviews_by_pair, cost, handoff_reasons, and ratings once chats are rated."
                        ),
                        "additionalProperties": {"$ref": "#/components/schemas/AnalyticsTable"},
                    },
                },
            },
            "Proposal": {
                "type": "object",
                "required": ["public_id", "status", "tier_required", "situation", "requested_by"],
                "properties": {
                    "public_id": {"type": "string", "example": "P-7F3K2Q"},
                    "conversation_id": {"type": "string"},
                    "turn_key": {"type": "string"},
                    "channel": {"type": "string", "example": "copilot"},
                    "situation": {"type": "string"},
                    "customer_id": {"type": "string", "nullable": True},
                    "order_id": {"type": "string", "nullable": True},
                    "facts": {"type": "object", "additionalProperties": True},
                    "options_offered": {"type": "array", "items": {"type": "object"}},
                    "option_chosen": {"type": "object", "nullable": True},
                    "customer_ask": {"type": "object", "nullable": True},
                    "context": {"type": "object", "additionalProperties": True},
                    "policy_version": {"type": "string"},
                    "tier_required": {"$ref": "#/components/schemas/Tier"},
                    "requested_by": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": ["accepted", "pending"],
                        "description": "accepted: within the agent's authority; pending: needs approval.",
                    },
                    "version": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                    "decisions": {"type": "array", "items": {"$ref": "#/components/schemas/Decision"}},
                    "reviews": {"type": "array", "items": {"type": "object"}},
                    "created": {"type": "boolean", "description": "True when this call stored it."},
                },
            },
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may not change the original)."""
    return copy.deepcopy(_DOCUMENT)
