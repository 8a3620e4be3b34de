"""Makegood: exceptions in customer service, resolved inside authority."""

__version__ = "0.1.0"
