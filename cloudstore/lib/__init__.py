"""Shared plumbing that imports no domain: database, settings, errors, logs, jobs, paging, bulk input."""
