"""Ledger schema revisions, in order. Forward-only: every ``downgrade()`` raises."""
