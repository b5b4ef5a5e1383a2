"""Unit tests of the auth providers, against local fakes; no database."""
