"""A fake of the scheduler's port (bot/app/messenger.Messenger), for driving the scheduled run
(bot/app/scheduled_run.py) without Slack: one workspace's directory and channels in memory, every
message and chart recorded (a team session's closed message and summary too). It can refuse a
channel or a person (as gone for good) or turn the next sends down as rate-limited (worth another
try on a later tick), and is safe to share between threads.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.messenger import (
    DirectoryEntry,
    Gone,
    Invitation,
    PausedNotice,
    Posted,
    Refused,
    Reminder,
    TrendChart,
)
from bot.app.team_sessions import Ended
from bot.domain.digest import Digest

TEAM = "T0FAKE"


@dataclass(frozen=True)
class Sent:
    kind: str  # "digest", "invitation", "reminder", "notice" or "summary" (a team session's)
    target: str  # the channel, or the person
    message: Digest | Invitation | Reminder | PausedNotice | Ended
    ts: str


class FakeMessenger:
    def __init__(self, team: str = TEAM) -> None:
        self.team = team
        self.people: dict[str, DirectoryEntry] = {}
        self.channels: dict[str, list[str]] = {}
        self.sent: list[Sent] = []
        self.attempts: list[tuple[str, str]] = []  # (kind, target) of every post, sent or not
        self.charts: list[TrendChart] = []
        self.closed: list[tuple[str, str]] = []  # (channel, ts) of each session message closed
        self.unreadable: dict[str, str] = {}  # channel -> the error reading its members is refused with
        self.gone_channels: dict[str, str] = {}  # channel -> the error posting to it is refused with
        self.gone_users: dict[str, str] = {}
        self.rate_limited = 0  # this many of the next posts are refused, not for good
        self.chart_failure: Exception | None = None
        self.on_members: Callable[[str], None] | None = None  # called as a channel's members are read
        self._lock = threading.Lock()
        self._ts = itertools.count(1)

    # -- scripting ---------------------------------------------------------------
    def add_channel(self, channel: str, members: list[str], tz: str = "UTC") -> None:
        """A channel of these people (each an active human in the directory)."""
        for user in members:
            self.people.setdefault(user, DirectoryEntry(tz, True))
        self.channels[channel] = list(members)

    def refuse_channel(self, channel: str, error: str = "not_in_channel", *, members: bool = True) -> None:
        """The channel is gone: posts to it refused, and (``members``) reading who is in it."""
        self.gone_channels[channel] = error
        if members:
            self.unreadable[channel] = error

    def refuse_user(self, user: str, error: str = "account_inactive") -> None:
        self.gone_users[user] = error

    def messages(self, kind: str | None = None, target: str | None = None) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if kind in (None, s.kind) and target in (None, s.target)]

    # -- the port ----------------------------------------------------------------
    def team_id(self) -> str:
        return self.team

    def directory(self) -> dict[str, DirectoryEntry]:
        return dict(self.people)

    def channel_members(self, channel: str) -> list[str]:
        if self.on_members is not None:
            self.on_members(channel)
        if channel in self.unreadable:
            raise Refused(self.unreadable[channel], Gone.CHANNEL)
        if channel not in self.channels:
            raise Refused("channel_not_found", Gone.CHANNEL)
        return list(self.channels[channel])

    def post_digest(self, channel: str, digest: Digest) -> Posted:
        return self._post("digest", channel, digest)

    def post_invitation(self, invitation: Invitation) -> Posted:
        return self._post("invitation", invitation.user_id, invitation)

    def post_reminder(self, reminder: Reminder) -> Posted:
        return self._post("reminder", reminder.user_id, reminder)

    def post_paused_notice(self, notice: PausedNotice) -> Posted:
        return self._post("notice", notice.user_id, notice)

    def send_trend_chart(self, chart: TrendChart) -> None:
        if self.chart_failure is not None:
            raise self.chart_failure
        with self._lock:
            self.charts.append(chart)

    def close_session_message(self, ended: Ended) -> None:
        if not ended.live_ts:
            return
        with self._lock:
            if ended.channel in self.gone_channels:
                raise Refused(self.gone_channels[ended.channel], Gone.CHANNEL)
            self.closed.append((ended.channel, ended.live_ts))

    def post_session_summary(self, ended: Ended) -> Posted:
        return self._post("summary", ended.channel, ended)

    def _post(self, kind: str, target: str, message: Digest | Invitation | Reminder | PausedNotice | Ended) -> Posted:
        with self._lock:
            self.attempts.append((kind, target))
            if self.rate_limited > 0:
                self.rate_limited -= 1
                raise Refused("ratelimited")
            if target in self.gone_channels:
                raise Refused(self.gone_channels[target], Gone.CHANNEL)
            if target in self.gone_users:
                raise Refused(self.gone_users[target], Gone.USER)
            ts = f"{next(self._ts)}.000100"
            self.sent.append(Sent(kind, target, message, ts))
        return Posted(target if kind in ("digest", "summary") else f"D{target}", ts)
