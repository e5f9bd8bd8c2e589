"""Embedding: canonical rows → one vector per row (or chunk), each (model, text) embedded once."""
