"""Shared plumbing: database connections (db), secret redaction, the SQL file loader, advisory-lock keys."""
