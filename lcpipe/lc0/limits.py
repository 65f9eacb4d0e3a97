"""Input limits shared by the native loader's settings and the Python readers.

A chunk holds one game: 32 MiB holds about 4,000 records of the largest
version (V7, 8,396 bytes), far more plies than any real game, and a chunk
is never larger on disk than what it inflates to. Anything bigger is a
gzip bomb or not lc0 data; readers count it bad and skip it unread.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_CHUNK_MB = 32.0  # the most one chunk may inflate to
MAX_FILE_MB = 32.0  # the most one chunk (a .gz file or a tar member) may weigh on disk
MIB = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    max_chunk_bytes: int = int(MAX_CHUNK_MB * MIB)
    max_file_bytes: int = int(MAX_FILE_MB * MIB)

    @staticmethod
    def from_mb(max_chunk_mb: float = MAX_CHUNK_MB, max_file_mb: float = MAX_FILE_MB) -> InputLimits:
        return InputLimits(int(max_chunk_mb * MIB), int(max_file_mb * MIB))


DEFAULT_LIMITS = InputLimits()
