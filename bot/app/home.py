"""What App Home shows a person, read inside the transaction of the interaction that shows it."""

from __future__ import annotations

from bot.app.assessment import Tx, current_in
from bot.app.outreach import OutreachSettings
from bot.app.results import history_in, latest_with_previous_in
from bot.app.types import HomeData
from bot.db import digests, people
from bot.domain.digest import build_overview

HISTORY_SHOWN = 5  # past results listed in App Home


def home_in(tx: Tx, settings: OutreachSettings) -> HomeData:
    """The latest report, the last few results, the unfinished assessment and the teams at a glance."""
    session, who, now = tx.session, tx.who, tx.now
    report, _ = latest_with_previous_in(session, who)
    history = history_in(session, who, limit=HISTORY_SHOWN)
    progress = current_in(tx)
    ws_id = people.workspace_id(session, who.workspace, now)
    aggregates = digests.channel_aggregates(session, ws_id, now - settings.cadence, now)
    teams = build_overview(tx.bank, aggregates, min_respondents=settings.min_respondents)
    return HomeData(report, tuple(history), progress, teams)
