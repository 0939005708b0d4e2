"""Alembic migrations of the queue and ledger schema, shipped inside the package."""
