"""Rasa-side glue for Makegood's NLU: custom graph components referenced from config.yml.
Kept apart from `makegood`, which never imports rasa."""
