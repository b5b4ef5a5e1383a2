"""Alembic migrations for cloudstore."""
