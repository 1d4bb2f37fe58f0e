"""Delivery signals as measurements: a team channel's DORA and ML metrics over a window."""

from __future__ import annotations

from datetime import datetime

from bot.db import signal_metrics
from bot.db.session import SessionFactory
from bot.domain.delivery_metrics import DeliveryMetrics

WINDOWS = (30, 90)  # the windows the surfaces show, in days


def delivery_metrics(sessions: SessionFactory, channel_id: str, now: datetime, days: int = 90) -> DeliveryMetrics:
    """The channel's metrics over the ``days`` up to ``now``, across all its sources (one transaction)."""
    with sessions.begin() as session:
        return signal_metrics.channel_metrics(session, channel_id, now, days)


def has_signals(sessions: SessionFactory, channel_id: str) -> bool:
    """Whether the channel has a signal source at all, so a surface can skip it cheaply."""
    with sessions.begin() as session:
        return signal_metrics.has_signals(session, channel_id)
