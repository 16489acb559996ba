"""Ledger tests: every test runs on a real SQLite file and a real PostgreSQL database."""
