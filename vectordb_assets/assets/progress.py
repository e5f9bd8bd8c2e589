"""Progress of one stage through one file, in the run's log while it works, and its totals after."""

from __future__ import annotations

import time
from collections.abc import Callable

# A line at every tenth of the rows, and at least this often in between.
STEPS = 10
EVERY_SECONDS = 30.0


class Progress:
    """Logs rows done of the total (when known), rows per second, time left and the stage's own
    counters (cache hits, rows rejected) at every 10 % of the rows and at least every 30 s; a file
    done in one chunk logs no progress line."""

    def __init__(
        self,
        log: Callable[[str], None],
        key: str,
        stage: str,
        total: int | None,
        *,
        chunks_total: int | None = None,
        every_seconds: float = EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log, self.key, self.stage, self.total, self.chunks_total = log, key, stage, total, chunks_total
        self.every_seconds, self.clock = every_seconds, clock
        self.started = self.last_line = clock()
        self.done = self.failed = self.chunks = 0
        self.next_step = 1

    def update(self, done: int, failed: int = 0, **counters: int) -> None:
        """Record that `done` rows (of which `failed` were rejected) and one more chunk are done."""
        self.done, self.failed = done, failed
        self.chunks += 1
        if self.chunks == 1 and self.total is not None and done >= self.total:
            return  # done in one go: the stage's line about the file follows at once
        now = self.clock()
        step_reached = bool(self.total) and done * STEPS >= self.next_step * self.total
        if step_reached or now - self.last_line >= self.every_seconds:
            if self.total:
                self.next_step = done * STEPS // self.total + 1
            self.last_line = now
            self.log(self.line(now, counters))

    def line(self, now: float, counters: dict[str, int]) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        parts = [
            f"{self.key}: {self.stage} {self.done:,}"
            + (f" of {self.total:,} rows ({self.done / self.total:.0%})" if self.total else " rows")
        ]
        parts.append(f"{rate:,.0f} rows/s")
        if self.total and rate > 0:
            parts.append(f"about {max(self.total - self.done, 0) / rate:,.0f} s left")
        parts += [f"{name.replace('_', ' ')} {value:,}" for name, value in counters.items()]
        parts.append(f"rejected {self.failed:,}")
        return ", ".join(parts)

    def totals(self) -> dict[str, int]:
        """The file's totals for its partition's metadata."""
        return {
            "records_total": self.total if self.total is not None else self.done,
            "records_processed": self.done,
            "records_failed": self.failed,
            "chunks_completed": self.chunks,
            "chunks_total": self.chunks_total if self.chunks_total is not None else self.chunks,
        }
