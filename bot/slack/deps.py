"""What listeners need, built once at start and handed to them through Bolt's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.db.session import SessionFactory
from bot.domain.questionnaire import Questionnaire

if TYPE_CHECKING:
    from bot.slack.outbox import Outbox

CONTEXT_KEY = "compass"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    sessions: SessionFactory
    bank: Questionnaire
    clock: Callable[[], datetime] = utc_now
    outbox: Outbox | None = None  # where listeners queue work (the serving process only)


def deps_of(context: Any) -> Deps:
    deps: Deps = context[CONTEXT_KEY]
    return deps
