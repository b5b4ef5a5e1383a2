"""Unit tests of the payments providers, against local fakes; no database."""
