"""The bot's side of a case: gather facts, ask the engine, log to the ledger, choose what to say.

Rasa actions (in `actions/`) are thin glue over `Assistant`; everything that decides
anything lives here or in `makegood.policy`, so it is testable without Rasa.
"""
