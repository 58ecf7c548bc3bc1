"""The archive's database: the catalog of recordings, the audit log and the register of shares and
revoked tokens (schema.py), on PostgreSQL or SQLite (database.py), migrated by Alembic (migrations/)."""

from .database import Database, DatabaseUnavailable, database_url

__all__ = ["Database", "DatabaseUnavailable", "database_url"]
