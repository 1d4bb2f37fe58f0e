"""The scheduled run as a use case (bot/app/scheduled_run.py), driven through a fake of its port on a
real database (SQLite, and PostgreSQL when configured): what is due goes out once, refusals are
recorded as the ledger says, and the report tells what happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import complete_assessment
from fakemessenger import TEAM, FakeMessenger
from sqlalchemy import select

from bot.app.assessment import start_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest, unsubscribe_digest
from bot.app.messenger import Invitation, PausedNotice, Reminder
from bot.app.outreach import OutreachSettings
from bot.app.scheduled_run import post_digest_now, run_due
from bot.app.types import Who
from bot.db.models import ChannelMember, DigestSubscription, Send
from bot.db.setup import Database
from bot.domain.digest import Digest
from bot.domain.questionnaire import Questionnaire
from bot.domain.schedule import WorkingHours

TUESDAY = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)  # inside Tue-Thu 10-16 for people in UTC
CHANNEL = "C0TEAM"
LEAD = "U0LEAD"
SETTINGS = OutreachSettings(
    min_respondents=3, cadence=timedelta(days=90), hours=WorkingHours(frozenset({1, 2, 3}), 10, 16)
)


@pytest.fixture
def ctx(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


@pytest.fixture
def fake() -> FakeMessenger:
    return FakeMessenger()


def team(ctx: AppContext, fake: FakeMessenger, people: int = 5, assessed: int = 3, tz: str = "UTC") -> list[str]:
    """A monthly digest for CHANNEL, due at TUESDAY, of ``people`` people, the first ``assessed`` of whom
    answered (all level 2) ten days before."""
    humans = [f"U{i}" for i in range(1, people + 1)]
    fake.add_channel(CHANNEL, humans, tz=tz)
    subscribe_digest(ctx, Who(TEAM, LEAD), CHANNEL, "monthly", TUESDAY - timedelta(days=40))
    for user in humans[:assessed]:
        complete_assessment(ctx, Who(TEAM, user), [2] * len(ctx.bank.questions), TUESDAY - timedelta(days=10))
    return humans


def ledger(ctx: AppContext) -> list[tuple[str, str, str]]:
    """(kind, target, status) of every row of the sends ledger."""
    with ctx.sessions() as session:
        rows = session.execute(select(Send.kind, Send.target, Send.status).order_by(Send.id)).all()
    return [(kind, target, status) for kind, target, status in rows]


def test_a_due_digest_goes_out_once_with_its_chart_and_the_next_run_sends_nothing(
    ctx: AppContext, fake: FakeMessenger
) -> None:
    humans = team(ctx, fake)

    report = run_due(ctx, fake, SETTINGS, TUESDAY)

    (digest,) = fake.messages("digest", CHANNEL)
    assert isinstance(digest.message, Digest)
    assert digest.message.visible and (digest.message.respondents, digest.message.members) == (3, 5)
    invited = [s.target for s in fake.messages("invitation")]
    assert invited == humans[3:]  # the two who never answered
    assert all(isinstance(s.message, Invitation) and s.message.cadence_days == 90 for s in fake.messages("invitation"))
    (chart,) = fake.charts  # the trend, into the digest's thread, after it went out
    assert (chart.thread.channel, chart.thread.ts) == (CHANNEL, digest.ts)
    assert chart.history == () and chart.today == "2026-12-01"
    assert (report.digests, report.prompts, report.reminders, report.failures) == (1, 2, 0, 0)
    assert str(report).startswith("digests posted: 1, invitations: 2, reminders: 0, failures: 0")

    again = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(hours=1))

    assert len(fake.sent) == 3 and len(fake.charts) == 1
    assert (again.digests, again.prompts, again.failures) == (0, 0, 0)
    assert [status for _, _, status in ledger(ctx)] == ["sent"] * 3


def test_a_channel_that_is_gone_pauses_its_digest_and_its_owner_is_told_once(
    ctx: AppContext, fake: FakeMessenger
) -> None:
    team(ctx, fake)
    fake.refuse_channel(CHANNEL, "channel_not_found")

    first = run_due(ctx, fake, SETTINGS, TUESDAY)
    second = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(hours=1))

    assert first.paused_channels == [CHANNEL] and second.paused_channels == []
    (notice,) = fake.messages("notice")
    assert notice.target == LEAD and notice.message == PausedNotice(LEAD, CHANNEL, "channel_not_found")
    assert fake.messages("digest") == []
    with ctx.sessions() as session:
        assert session.scalars(select(DigestSubscription.paused_reason)).one() == "channel_not_found"
    assert ("digest", CHANNEL) not in fake.attempts  # nobody tried to post where the members could not be read


def test_a_digest_refused_as_it_is_posted_is_recorded_as_final_and_paused(ctx: AppContext, fake: FakeMessenger) -> None:
    """The members were read, then the post was refused: the bot was removed in between."""
    team(ctx, fake)
    fake.refuse_channel(CHANNEL, "not_in_channel", members=False)

    report = run_due(ctx, fake, SETTINGS, TUESDAY)
    run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(days=1))

    assert report.paused_channels == [CHANNEL] and report.failures == 1 and report.digests == 0
    assert fake.attempts.count(("digest", CHANNEL)) == 1  # never tried again
    assert ("digest", CHANNEL, "skipped") in ledger(ctx)
    assert [s.target for s in fake.messages("notice")] == [LEAD]


def test_a_person_who_is_gone_is_not_tried_again(ctx: AppContext, fake: FakeMessenger) -> None:
    humans = team(ctx, fake, people=4, assessed=3)
    fake.refuse_user(humans[3])

    report = run_due(ctx, fake, SETTINGS, TUESDAY)
    later = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(days=1))

    assert report.failures == 1 and report.prompts == 0 and later.failures == 0
    assert fake.attempts.count(("invitation", humans[3])) == 1
    assert ("prompt", humans[3], "skipped") in ledger(ctx)


def test_a_send_refused_for_now_is_tried_again_on_a_later_tick_and_then_goes_out_once(
    ctx: AppContext, fake: FakeMessenger
) -> None:
    humans = team(ctx, fake, people=4, assessed=3)
    fake.rate_limited = 2  # the digest and the one invitation

    first = run_due(ctx, fake, SETTINGS, TUESDAY)

    assert (first.digests, first.prompts, first.failures) == (0, 0, 2)
    assert fake.sent == [] and fake.charts == []
    assert sorted(status for _, _, status in ledger(ctx)) == ["failed", "failed"]

    second = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(minutes=15))
    third = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(minutes=30))

    assert (second.digests, second.prompts, second.failures) == (1, 1, 0)
    assert (third.digests, third.prompts) == (0, 0)
    assert [(s.kind, s.target) for s in fake.sent] == [("digest", CHANNEL), ("invitation", humans[3])]


def test_people_outside_their_working_hours_are_counted_and_wait(ctx: AppContext, fake: FakeMessenger) -> None:
    team(ctx, fake, people=4, assessed=3, tz="America/Los_Angeles")  # 03:00 on a Tuesday there

    report = run_due(ctx, fake, SETTINGS, TUESDAY)

    assert report.skipped_outside_hours == 1 and report.prompts == 0
    assert fake.messages("invitation") == []
    assert report.digests == 1  # a channel's digest does not wait for anyone's hours
    later = run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(hours=8))  # 11:00 in Los Angeles
    assert later.prompts == 1 and later.skipped_outside_hours == 0


def test_an_unfinished_assessment_is_reminded_where_it_stopped(
    ctx: AppContext, fake: FakeMessenger, small_bank: Questionnaire
) -> None:
    fake.add_channel(CHANNEL, ["U1"])
    started = start_assessment(ctx, Who(TEAM, "U1"), TUESDAY - timedelta(days=7)).progress

    report = run_due(ctx, fake, SETTINGS, TUESDAY)

    (reminder,) = fake.messages("reminder")
    first = ctx.bank.questions[0].id
    assert reminder.message == Reminder("U1", started.assessment_id, 0, 1, first, len(ctx.bank))
    assert report.reminders == 1


def test_a_chart_that_fails_never_fails_the_run_or_repeats_the_digest(ctx: AppContext, fake: FakeMessenger) -> None:
    team(ctx, fake)
    fake.chart_failure = RuntimeError("the plotting library broke")

    report = run_due(ctx, fake, SETTINGS, TUESDAY)
    run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(hours=1))

    assert report.digests == 1 and report.failures == 0
    assert len(fake.messages("digest")) == 1
    assert ("digest", CHANNEL, "sent") in ledger(ctx)


def test_a_digest_under_the_threshold_goes_out_without_a_chart(ctx: AppContext, fake: FakeMessenger) -> None:
    team(ctx, fake, people=5, assessed=2)

    run_due(ctx, fake, SETTINGS, TUESDAY)

    (digest,) = fake.messages("digest")
    assert isinstance(digest.message, Digest) and not digest.message.visible
    assert fake.charts == []


def test_a_digest_deleted_while_its_members_are_read_is_skipped(ctx: AppContext, fake: FakeMessenger) -> None:
    team(ctx, fake)
    fake.on_members = lambda channel: unsubscribe_digest(ctx, TEAM, channel, TUESDAY)

    report = run_due(ctx, fake, SETTINGS, TUESDAY)

    assert report.digests == 0 and report.failures == 0 and fake.messages("digest") == []


def test_a_digest_asked_for_now_goes_out_mid_period_and_a_gone_channel_says_why(
    ctx: AppContext, fake: FakeMessenger
) -> None:
    team(ctx, fake)
    run_due(ctx, fake, SETTINGS, TUESDAY)  # this period's digest

    digest = post_digest_now(ctx, fake, SETTINGS, CHANNEL, TUESDAY + timedelta(hours=2))

    assert digest.visible and len(fake.messages("digest")) == 2
    with pytest.raises(LookupError, match="no digest is set up"):
        post_digest_now(ctx, fake, SETTINGS, "C0NOPE", TUESDAY)
    fake.refuse_channel(CHANNEL)
    with pytest.raises(RuntimeError, match="not_in_channel; the digest is paused"):
        post_digest_now(ctx, fake, SETTINGS, CHANNEL, TUESDAY + timedelta(hours=3))


def test_the_team_follows_the_channels_members(ctx: AppContext, fake: FakeMessenger) -> None:
    team(ctx, fake, people=3, assessed=0)
    run_due(ctx, fake, SETTINGS, TUESDAY)
    fake.add_channel(CHANNEL, ["U2", "U3", "U4"])  # U1 left, U4 joined

    run_due(ctx, fake, SETTINGS, TUESDAY + timedelta(hours=1))

    with ctx.sessions() as session:
        stored = session.scalars(select(ChannelMember.user_id).order_by(ChannelMember.user_id)).all()
    assert stored == ["U2", "U3", "U4"]
    assert [s.target for s in fake.messages("invitation")] == ["U1", "U2", "U3", "U4"]  # U4 as they joined
