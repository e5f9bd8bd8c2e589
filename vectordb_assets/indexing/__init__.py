"""Indexing: the vector ledger, the store sync it guides, reconciliation and repair."""
