"""Alembic migrations for Makegood's database (ledger + customer store).

The Alembic configuration lives in code (`makegood.db.alembic_config`), not in an
alembic.ini, so `makegood.db.migrate()` works from an installed package. To write a new
revision during development:

    python -c "from alembic import command; from makegood.db import alembic_config; \
command.revision(alembic_config('sqlite:///var/makegood.db'), 'what changed', autogenerate=True)"
"""
