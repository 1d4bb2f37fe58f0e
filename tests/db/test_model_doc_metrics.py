"""The shares of documented and tracked model versions against a hand-computed history, on SQLite
and PostgreSQL. Two MLflow registries report to the channel; a third, in another channel, must
never count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.db import signal_metrics
from bot.db.people import workspace_id
from bot.db.setup import Database
from bot.db.signals import Source, add_events, add_source
from bot.domain.signals import SignalEvent, SignalType, SourceKind

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"


def at(days: float) -> datetime:
    return NOW + timedelta(days=days)


def version(model: str, number: str, when: datetime, status: str | None, run: bool) -> SignalEvent:
    return SignalEvent(
        SignalType.TRAINING_RUN,
        f"{model}/{number}",
        when,
        model=model,
        version=number,
        status=status,
        category="run" if run else None,
    )


def card(model: str, number: str, when: datetime) -> SignalEvent:
    return SignalEvent(
        SignalType.MODEL_DOCUMENTED, f"{model}/{number}", when, model=model, version=number, name="model_card"
    )


REGISTRY_A = [
    version("churn", "1", at(-40), "undocumented", run=True),  # before the 30-day window
    version("churn", "2", at(-20), "documented", run=True),  # documented, tracked
    version("churn", "3", at(-10), "undocumented", run=True),  # card set later, inside the window
    card("churn", "3", at(-9)),
    version("churn", "4", at(-5), "undocumented", run=False),  # card set in the future: not yet
    card("churn", "4", at(1)),
    card("churn", "1", at(-3)),  # documents a version outside the window: counts nowhere
    # A CI training run is not a registered version.
    SignalEvent(SignalType.TRAINING_RUN, "wf-9", at(-2), model="Train churn"),
]
REGISTRY_B = [
    version("fraud", "1", at(-8), "documented", run=False),  # documented, untracked
    card("churn", "3", at(-7)),  # another registry's card for churn/3: not this registry's version
    version("churn", "5", at(-1), "undocumented", run=True),
    card("churn", "5", at(-6)),  # a card recorded before its creation event arrived still documents it
]
ELSEWHERE = [version("other", "1", at(-1), "documented", run=True)]

# 30-day window, versions registered in it: A churn/2, churn/3, churn/4; B fraud/1, churn/5 -> 5.
# documented: churn/2 (registered so), churn/3 (card at -9), fraud/1 (registered so), churn/5 (card
# at -6, same registry) -> 4 of 5; churn/4's card is after NOW. tracked: churn/2, churn/3, churn/5 -> 3.
# 90-day window adds A churn/1 (undocumented at creation, card at -3 -> documented; tracked): 5 of 6, 4 of 6.


def test_documented_and_tracked_shares_of_the_versions_registered_in_the_window(database: Database) -> None:
    with database.sessions.begin() as session:
        ws = workspace_id(session, "T0TEAM", NOW)
        for sid, channel, events in (("a", CHANNEL, REGISTRY_A), ("b", CHANNEL, REGISTRY_B), ("x", "C0X", ELSEWHERE)):
            made = Source(sid, ws, channel, SourceKind.MLFLOW, "s", "production", "train", ("champion",), "U1", at(-99))
            add_source(session, made)
            add_events(session, made, events)

    with database.sessions() as session:
        month = signal_metrics.channel_metrics(session, CHANNEL, NOW, 30)
        quarter = signal_metrics.channel_metrics(session, CHANNEL, NOW, 90)
        other = signal_metrics.channel_metrics(session, "C0NONE", NOW, 90)

    assert (month.model_versions, month.documented_share, month.tracked_share) == (5, 4 / 5, 3 / 5)
    assert (str(month.documented_band), str(month.tracked_band)) == ("75-94%", "25-74%")
    assert (quarter.model_versions, quarter.documented_share, quarter.tracked_share) == (6, 5 / 6, 4 / 6)
    assert (other.model_versions, other.documented_share, other.tracked_share) == (0, None, None)
    assert month.training_runs == 6  # the registry's versions still count as training runs
