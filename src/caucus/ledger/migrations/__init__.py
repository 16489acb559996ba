"""Alembic environment of the ledger (forward-only migrations)."""
