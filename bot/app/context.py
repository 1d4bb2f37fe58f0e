"""What every use case needs, built once at start by the composition root (bot/run/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.app.bank_registry import Banks
from bot.app.evidence import ChannelMeasurements
from bot.db.session import SessionFactory
from bot.domain.questionnaire import Questionnaire


@dataclass(frozen=True)
class AppContext:
    sessions: SessionFactory
    # The deployment's default bank, for workspaces that have none of their own; use cases that
    # serve a workspace ask ``banks.of(session, workspace)``.
    bank: Questionnaire
    measured: ChannelMeasurements = field(default_factory=ChannelMeasurements, compare=False)
    banks: Banks = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "banks", Banks(self.bank))
