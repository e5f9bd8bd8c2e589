"""The error every reader raises for a file it cannot read as its name claims."""

from __future__ import annotations

from typing import Any


class UnreadableFileError(ValueError):
    """The file cannot be read as the format its name claims; the message names file and place,
    and `location` holds the line, item, row or field when one is known."""

    def __init__(self, message: str, **location: Any):
        super().__init__(message)
        self.location = location
