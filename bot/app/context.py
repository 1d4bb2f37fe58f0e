"""What every use case needs, built once at start by the composition root (bot/run/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app.evidence import ChannelMeasurements
from bot.db.session import SessionFactory
from bot.domain.questionnaire import Questionnaire


@dataclass(frozen=True)
class AppContext:
    sessions: SessionFactory
    bank: Questionnaire
    measured: ChannelMeasurements = field(default_factory=ChannelMeasurements, compare=False)
