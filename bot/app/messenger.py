"""The scheduler's port: what a scheduled run needs of the chat platform, in plain values.

``bot/app/scheduled_run.py`` reads the directory and channel members and sends through a
``Messenger``; ``bot/slack/messenger.py`` implements it on a workspace's Slack client (Block Kit,
the paced sender, chart uploads), and the tests replace it with a fake. Nothing here knows Slack:
a send the platform turns down comes back as ``Refused``, its reason as the platform said it (stored
in the sends ledger, shown in a paused digest's notice) and, decided by the adapter in one place,
whether the channel or the person is gone for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from bot.domain.digest import Digest, PeriodFigures
from bot.domain.team_session import SessionScores

if TYPE_CHECKING:  # the use cases' view of an ended session (team_sessions imports outreach, which imports this)
    from bot.app.team_sessions import Ended


@dataclass(frozen=True)
class DirectoryEntry:
    """One person as the chat directory describes them."""

    tz: str | None
    active: bool  # a human whose account is not deactivated


@dataclass(frozen=True)
class Posted:
    """Where a message went: the channel (a DM's own id for a person) and its timestamp."""

    channel: str
    ts: str | None


class Gone(Enum):
    """Why sending again can never help."""

    CHANNEL = "channel gone"  # the bot was removed, or the channel deleted or archived: a digest pauses
    USER = "user gone"  # the person was deactivated or cannot be messaged


class Refused(Exception):
    """The platform turned a read or a send down: ``error`` is its reason; ``gone`` None means a later
    tick may succeed (a rate limit that outlasted the retries, an outage)."""

    def __init__(self, error: str, gone: Gone | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.gone = gone


@dataclass(frozen=True)
class Invitation:
    """An invitation to (re-)assess, one per re-assessment cycle (``period``)."""

    user_id: str
    last_completed: datetime | None
    period: str
    cadence_days: int  # the cycle's length, which the message names


@dataclass(frozen=True)
class Reminder:
    """A reminder of an unfinished assessment, the first or the second (``number``)."""

    user_id: str
    assessment_id: int
    position: int
    number: int  # 1 or 2
    # The workspace bank's question at ``position`` and its length; empty when unknown (the
    # messenger's default bank is quoted then).
    question_id: str = ""
    total: int = 0

    @property
    def period(self) -> str:
        return f"{self.assessment_id}:{self.number}"


@dataclass(frozen=True)
class PausedNotice:
    """Tells the person who set a digest up that it stopped, and why."""

    user_id: str
    channel: str
    reason: str  # the platform's error, as it said it


@dataclass(frozen=True)
class TrendChart:
    """A digest's trend chart: ``history`` the figures of the digests before it (oldest first),
    ``digest`` the one in ``thread``, labelled ``today``; ``sessions`` the agreed scores of the team's
    sessions in that time (oldest first)."""

    thread: Posted
    digest: Digest
    history: tuple[PeriodFigures, ...]
    today: str
    sessions: tuple[SessionScores, ...] = ()


class Messenger(Protocol):
    """One workspace of the chat platform. The reads raise ``Refused`` for a channel the bot cannot
    see; the posts raise it for anything that did not go out."""

    def team_id(self) -> str:
        """The workspace's id on the platform."""
        ...

    def directory(self) -> dict[str, DirectoryEntry]:
        """Everyone in the workspace, by user id."""
        ...

    def channel_members(self, channel: str) -> list[str]:
        """The member ids of a channel (people, bots and the app itself)."""
        ...

    def post_digest(self, channel: str, digest: Digest) -> Posted: ...

    def post_invitation(self, invitation: Invitation) -> Posted: ...

    def post_reminder(self, reminder: Reminder) -> Posted: ...

    def post_paused_notice(self, notice: PausedNotice) -> Posted: ...

    def send_trend_chart(self, chart: TrendChart) -> None:
        """Best-effort: a chart that cannot be drawn or uploaded is logged by the adapter, never raised."""
        ...

    def close_session_message(self, ended: Ended) -> None:
        """Turn an ended session's live question message (``ended.live_ts``) into one that takes no more votes."""
        ...

    def post_session_summary(self, ended: Ended) -> Posted:
        """The ended session's summary, in its channel."""
        ...
