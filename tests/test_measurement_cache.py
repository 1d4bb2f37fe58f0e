"""A channel's measurements are read once a minute per process, not once per click."""

from __future__ import annotations

from datetime import datetime, timedelta

from conftest import T0
from sqlalchemy import event

from bot.app import signals
from bot.app.evidence import KEPT_FOR, ChannelMeasurements
from bot.db.setup import Database
from bot.domain.evidence import Measurement
from bot.domain.signals import SourceKind


def test_a_reading_is_reused_for_a_minute_then_read_again(database: Database) -> None:
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    kept = ChannelMeasurements()

    def read(channel: str, when: datetime) -> dict[str, Measurement] | None:
        with database.sessions() as session:
            return kept.of(session, channel, when)

    assert read("C0TEAM", T0) is None  # no sources yet
    signals.add_source(database.sessions, SourceKind.GITHUB, "C0TEAM", T0, created_by="U1", team="T1")
    statements.clear()
    assert read("C0TEAM", T0 + KEPT_FOR - timedelta(seconds=1)) is None  # the same reading, no statement
    assert not [s for s in statements if "signal" in s]
    assert read("C0TEAM", T0 + KEPT_FOR) == {}  # a minute on: read again, and the source is seen
    assert read("C0OTHER", T0) is None  # each channel its own
    assert read("C0TEAM", T0 - timedelta(seconds=5)) == {}  # a clock that went back reads again
