"""The one error a training tool raises for a user's mistake: a message and an exit code."""

from __future__ import annotations

from lcpipe.exit_codes import EXIT_FAILED, EXIT_USAGE


class ToolError(Exception):
    """Bad input or a failed check; ``exit_code`` comes from lcpipe/exit_codes.py."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


def usage_error(message: str) -> ToolError:
    return ToolError(message, EXIT_USAGE)
