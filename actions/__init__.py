"""Makegood's custom actions: thin glue between Rasa and `makegood.services.bot`.

rasa_sdk imports every module here at start-up, so nothing in this package touches the
database or the catalog at import time; `makegood.services.bootstrap` wires lazily.
"""
