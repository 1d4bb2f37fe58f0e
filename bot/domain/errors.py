"""Errors a person can cause; each carries the short text they should see."""

from __future__ import annotations


class CompassError(Exception):
    """Base for expected failures: shown to the user, logged without a traceback."""

    user_message = "Something went wrong with that request."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        self.detail = detail or self.user_message


class NoAssessment(CompassError):
    user_message = "There is no assessment in progress. Start one with `/compass start`."


class NotYourAssessment(CompassError):
    user_message = "Those buttons belong to someone else's assessment; run `/compass start` for your own."
