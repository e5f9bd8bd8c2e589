"""`vectordb api`: the authenticated HTTP API for the systems that called the replaced services:
processing tasks, their status, health, the landing area's files, and search."""
