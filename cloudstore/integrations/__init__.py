"""Integrations: outgoing webhooks (an outbox delivered by the job queue) and scoped API keys for warehouses."""
