"""The kind of error an operator fixes outside the code; imports nothing, so that the CLI's
entry point can catch it without loading anything else (``compass --help`` stays fast)."""

from __future__ import annotations

EXIT_STARTUP = 2  # the exit status of a command stopped by a StartupProblem


class StartupProblem(Exception):
    """Something outside the code stops a command (the database, a token): the CLI prints the
    message as one line, with no traceback, and exits with EXIT_STARTUP."""
