"""Requests packed to a service's limits: at most so many items and so much size each."""

from __future__ import annotations

from collections.abc import Sequence


def pack(sizes: Sequence[int], max_items: int, max_size: int) -> list[range]:
    """Consecutive slices of items (order kept), each within both limits; an item larger than
    `max_size` alone goes in a slice of its own."""
    batches: list[range] = []
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_items or total + size > max_size):
            batches.append(range(start, i))
            start, total = i, 0
        total += size
    if start < len(sizes):
        batches.append(range(start, len(sizes)))
    return batches
