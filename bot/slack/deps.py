"""What listeners and work handlers need, built once at start and handed over through Bolt's context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.app.context import AppContext
from bot.app.outreach import OutreachSettings
from bot.queue.outbox import Outbox

CONTEXT_KEY = "compass"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    ctx: AppContext
    clock: Callable[[], datetime] = utc_now
    outbox: Outbox | None = None  # where listeners queue work (the serving process only)
    public_url: str | None = None  # where Slack and webhooks reach the app (COMPASS_PUBLIC_URL), for set-up texts
    outreach: OutreachSettings = OutreachSettings()  # the respondent threshold and cadence `/compass team` uses
    retention_days: int = 730  # COMPASS_RETENTION_DAYS, told in App Home's "About your data"
    bank_admins: frozenset[str] = frozenset()  # COMPASS_BANK_ADMINS: may change the bank besides admins and owners


def deps_of(context: Any) -> Deps:
    deps: Deps = context[CONTEXT_KEY]
    return deps
