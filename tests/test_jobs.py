"""Digests, invitations and reminders: run_due against the fake Slack Web API, time injected."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from conftest import SMALL_BANK
from fakeslack import BOT_TOKEN, TEAM_ID, FakeSlack
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.app.assessment import record_answer, restart_assessment, start_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.outreach import OutreachSettings
from bot.app.preferences import set_reminders
from bot.app.types import Click, Who
from bot.config import Settings
from bot.db.models import DigestSubscription, Send
from bot.db.setup import Database
from bot.domain.levels import level_for
from bot.domain.questionnaire import Questionnaire
from bot.domain.schedule import WorkingHours
from bot.run.wiring import build_scheduler_client
from bot.slack.directory import PAGE
from bot.slack.pacing import Pacer
from bot.slack.scheduled import post_digest_now, run_due

# Tuesday 2 Dec 2026, 11:00 UTC: inside Tue-Thu 10-16 for people in UTC.
TUESDAY = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
CHANNEL = "C0TEAM"
HOURS = WorkingHours(frozenset({1, 2, 3}), 10, 16)  # tue,wed,thu 10-16


class Clock:
    """Pacing time that advances without sleeping, so fan-outs run instantly in tests."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(rate: float = 100.0) -> Pacer:
    clock = Clock()
    return Pacer(rate, clock=clock.time, sleep=clock.sleep)


@pytest.fixture
def slack(fake: FakeSlack) -> FakeSlack:
    """The fake Slack under this file's name for it."""
    return fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack.api_url)


@pytest.fixture
def deps(database: Database, small_bank: Questionnaire) -> AppContext:
    return AppContext(database.sessions, small_bank)


def settings(min_respondents: int = 5) -> OutreachSettings:
    return OutreachSettings(min_respondents=min_respondents, cadence=timedelta(days=90), hours=HOURS, send_rate=100)


def assess(deps: AppContext, user: str, levels: list[int | None], when: datetime) -> None:
    """Complete an assessment for a user through the real services."""
    who = Who(TEAM_ID, user)
    progress = restart_assessment(deps, who, when)
    for question, level in zip(deps.bank.questions, levels, strict=True):
        record_answer(deps, who, Click(progress.assessment_id, question.id, level), when)


def team(slack: FakeSlack, humans: list[str], tz: str = "UTC") -> None:
    for user in humans:
        slack.add_user(user, tz=tz)
    slack.add_user("U0BOTTY", is_bot=True)
    slack.add_user("U0GONE", deleted=True)
    slack.add_channel(CHANNEL, [*humans, "U0BOTTY", "U0GONE", "U0BOT"])


def subscribe(deps: AppContext, when: datetime, cadence: str = "monthly") -> None:
    subscribe_digest(deps, Who(TEAM_ID, "U0LEAD"), CHANNEL, cadence, when)


def channel_posts(slack: FakeSlack) -> list:  # type: ignore[type-arg]
    return slack.channel_messages(CHANNEL)


def expected_dimension_means(bank: Questionnaire, answer_sets: list[list[int | None]]) -> dict[str, float]:
    """Team mean per dimension, computed independently: mean over people of their weighted means."""
    means = {}
    for dim in bank.dimensions:
        per_person = []
        for levels in answer_sets:
            pairs = [
                (q.weight, lv) for q, lv in zip(bank.questions, levels, strict=True) if q.dimension == dim.id and lv
            ]
            if pairs:
                per_person.append(sum(w * lv for w, lv in pairs) / sum(w for w, _ in pairs))
        means[dim.id] = float(sum(per_person) / len(per_person))
    return means


def test_digest_shows_participation_levels_spread_and_focus(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    humans = [f"U{i}" for i in range(1, 7)]
    team(slack, humans)
    subscribe(deps, TUESDAY - timedelta(days=40))
    answer_sets: list[list[int | None]] = [
        [1, 2, 1, 2, 1],
        [2, 2, 2, None, 2],
        [1, 1, 1, 1, 1],
        [3, 2, 2, 2, 3],
        [2, 3, 1, 2, 2],
    ]
    for user, levels in zip(humans, answer_sets, strict=False):
        assess(deps, user, levels, TUESDAY - timedelta(days=10))
    report = run_due(deps, client, settings(), TUESDAY, pacer())
    assert report.digests == 1
    (digest,) = channel_posts(slack)
    text = str(digest.blocks)
    assert "5 of 6 members" in text  # the bot, a bot user and a deactivated user are not the team
    for dim_id, mean in expected_dimension_means(deps.bank, answer_sets).items():
        name = deps.bank.dimension(dim_id).name
        line = next(line for line in text.split("\\n") if name in line)
        assert f"{mean:.2f}" in line
        assert f"L{level_for(Fraction(str(round(mean, 4))))}" in line
    # Spread of the Data dimension: count of people per level, from their dimension scores.
    assert "🔴" in text and "Team focus" in text
    assert "U1" not in text and "U3" not in text  # never anyone's identity or own answers


def test_digest_under_threshold_shows_no_numbers(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    humans = [f"U{i}" for i in range(1, 9)]
    team(slack, humans)
    subscribe(deps, TUESDAY - timedelta(days=40))
    for user in humans[:3]:
        assess(deps, user, [2, 2, 2, 2, 2], TUESDAY - timedelta(days=1))
    run_due(deps, client, settings(min_respondents=5), TUESDAY, pacer())
    (digest,) = channel_posts(slack)
    text = str(digest.blocks)
    assert "3 of 8 members" in text and "2 more needed" in text
    assert not re.search(r"\d\.\d\d", text), "no scores may appear under the threshold"
    assert "Level" not in text


def test_minimum_respondents_is_never_below_three(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    team(slack, ["U1", "U2", "U3"])
    subscribe(deps, TUESDAY - timedelta(days=40))
    for user in ("U1", "U2"):
        assess(deps, user, [4, 4, 4, 4, 4], TUESDAY - timedelta(days=1))
    run_due(deps, client, settings(min_respondents=1), TUESDAY, pacer())
    assert "1 more needed" in str(channel_posts(slack)[0].blocks)


def test_digest_once_per_period_starting_after_the_subscription(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    humans = [f"U{i}" for i in range(1, 6)]
    team(slack, humans)
    subscribe(deps, TUESDAY, cadence="weekly")
    for user in humans:
        assess(deps, user, [2, 2, 2, 2, 2], TUESDAY - timedelta(days=1))
    run_due(deps, client, settings(), TUESDAY, pacer())
    assert channel_posts(slack) == []  # same week as the subscription
    next_week = TUESDAY + timedelta(days=7)
    run_due(deps, client, settings(), next_week, pacer())
    run_due(deps, client, settings(), next_week + timedelta(hours=2), pacer())
    assert len(channel_posts(slack)) == 1
    for user in humans:
        assess(deps, user, [3, 3, 3, 3, 3], next_week + timedelta(days=1))
    run_due(deps, client, settings(), next_week + timedelta(days=7), pacer())
    second = channel_posts(slack)[-1]
    assert len(channel_posts(slack)) == 2
    assert "▲ +1.00" in str(second.blocks)


def test_two_schedulers_post_one_digest_and_one_invitation_each(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    humans = [f"U{i}" for i in range(1, 21)]
    team(slack, humans)
    subscribe(deps, TUESDAY - timedelta(days=40))
    for user in humans[:6]:
        assess(deps, user, [2, 3, 2, 3, 2], TUESDAY - timedelta(days=120))  # due for re-assessment
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            run_due(deps, WebClient(token=BOT_TOKEN, base_url=slack.api_url), settings(), TUESDAY, pacer())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(channel_posts(slack)) == 1
    for user in humans:
        assert len(slack.dm_messages(user)) == 1, user


def test_lost_bot_membership_pauses_the_digest_and_tells_its_owner_once(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    team(slack, ["U1", "U2"])
    slack.add_user("U0LEAD")
    slack.channels[CHANNEL]["is_member"] = False
    subscribe(deps, TUESDAY - timedelta(days=40))
    report = run_due(deps, client, settings(), TUESDAY, pacer())
    run_due(deps, client, settings(), TUESDAY + timedelta(hours=1), pacer())
    assert report.paused_channels == [CHANNEL]
    notices = slack.dm_messages("U0LEAD")
    assert len(notices) == 1 and "/invite @compass" in notices[0].text
    with deps.sessions() as s:
        assert s.scalars(select(DigestSubscription.paused_reason)).one() == "not_in_channel"


def test_deleted_channel_pauses_the_digest(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    slack.add_user("U0LEAD")
    subscribe(deps, TUESDAY - timedelta(days=40))
    report = run_due(deps, client, settings(), TUESDAY, pacer())
    assert report.paused_channels == [CHANNEL]
    assert "cannot see it" in slack.dm_messages("U0LEAD")[0].text


def test_invitations_follow_the_cadence_once_per_cycle(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    team(slack, ["U1", "U2", "U3"])
    assess(deps, "U1", [2, 2, 2, 2, 2], TUESDAY - timedelta(days=89))
    assess(deps, "U2", [2, 2, 2, 2, 2], TUESDAY - timedelta(days=90))
    subscribe(deps, TUESDAY)
    run_due(deps, client, settings(), TUESDAY, pacer())
    assert slack.dm_messages("U1") == []  # 89 days: still current
    assert len(slack.dm_messages("U2")) == 1  # exactly at the cadence
    assert len(slack.dm_messages("U3")) == 1  # a channel member who never assessed
    assert [b["action_id"] for b in slack.dm_messages("U3")[0].blocks[1]["elements"]] == ["start", "snooze"]
    run_due(deps, client, settings(), TUESDAY + timedelta(days=1), pacer())
    assert len(slack.dm_messages("U2")) == 1 and len(slack.dm_messages("U3")) == 1
    later = TUESDAY + timedelta(days=91)
    later = later + timedelta(days=(1 - later.weekday()) % 7)  # the next Tuesday: inside working hours
    run_due(deps, client, settings(), later, pacer())
    assert len(slack.dm_messages("U2")) == 2


@pytest.mark.parametrize(
    "tz,when,inside",
    [
        ("America/Los_Angeles", datetime(2026, 12, 1, 18, 0, tzinfo=UTC), True),  # Tue 10:00 PST
        ("America/Los_Angeles", datetime(2026, 12, 1, 11, 0, tzinfo=UTC), False),  # Tue 03:00 PST
        ("Asia/Kolkata", datetime(2026, 12, 1, 5, 0, tzinfo=UTC), True),  # Tue 10:30 IST
        ("Asia/Kolkata", datetime(2026, 12, 3, 11, 0, tzinfo=UTC), False),  # Thu 16:30 IST
        ("Europe/Berlin", datetime(2026, 10, 20, 8, 30, tzinfo=UTC), True),  # Tue 10:30 CEST (UTC+2)
        ("Europe/Berlin", datetime(2026, 10, 27, 8, 30, tzinfo=UTC), False),  # Tue 09:30 CET after DST ends
        ("Europe/Berlin", datetime(2026, 3, 31, 8, 30, tzinfo=UTC), True),  # Tue 10:30 CEST after DST starts
        ("America/New_York", datetime(2026, 11, 3, 14, 30, tzinfo=UTC), False),  # Tue 09:30 EST: DST ended 1 Nov
        ("America/New_York", datetime(2026, 10, 27, 14, 30, tzinfo=UTC), True),  # Tue 10:30 EDT, a week earlier
    ],
)
def test_invitations_wait_for_local_working_hours(
    slack: FakeSlack, client: WebClient, deps: AppContext, tz: str, when: datetime, inside: bool
) -> None:
    team(slack, ["U1"], tz=tz)
    subscribe(deps, when - timedelta(days=1))
    report = run_due(deps, client, settings(), when, pacer())
    assert len(slack.dm_messages("U1")) == (1 if inside else 0)
    assert report.skipped_outside_hours == (0 if inside else 1)


def test_unfinished_assessment_gets_two_reminders_then_none(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    slack.add_user("U1")
    start = TUESDAY - timedelta(days=7)  # also a Tuesday
    who = Who(TEAM_ID, "U1")
    progress = start_assessment(deps, who, start).progress
    record_answer(deps, who, Click(progress.assessment_id, deps.bank.questions[0].id, 2), start)
    run_due(deps, client, settings(), start + timedelta(days=2), pacer())  # Thursday: too early
    assert slack.dm_messages("U1") == []
    run_due(deps, client, settings(), start + timedelta(days=7 + 1) - timedelta(days=5), pacer())  # +3 days, Friday
    assert slack.dm_messages("U1") == []  # due, but Friday is outside Tue-Thu
    run_due(deps, client, settings(), start + timedelta(days=7), pacer())  # next Tuesday, 7 days idle
    run_due(deps, client, settings(), start + timedelta(days=8), pacer())
    messages = slack.dm_messages("U1")
    assert len(messages) == 2
    assert "question 2 of 5" in messages[0].text
    assert "last reminder" in str(messages[1].blocks)
    run_due(deps, client, settings(), start + timedelta(days=30), pacer())  # a Thursday, long idle
    assert len(slack.dm_messages("U1")) == 2


def test_paused_and_snoozed_people_get_nothing(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    team(slack, ["U1", "U2", "U3"])
    subscribe(deps, TUESDAY - timedelta(days=1))
    set_reminders(deps, Who(TEAM_ID, "U1"), TUESDAY, paused=True)
    set_reminders(deps, Who(TEAM_ID, "U2"), TUESDAY, snooze_until=TUESDAY + timedelta(days=3))
    run_due(deps, client, settings(), TUESDAY, pacer())
    assert slack.dm_messages("U1") == [] and slack.dm_messages("U2") == []
    assert len(slack.dm_messages("U3")) == 1
    run_due(deps, client, settings(), TUESDAY + timedelta(days=7), pacer())
    assert slack.dm_messages("U1") == [] and len(slack.dm_messages("U2")) == 1


def test_rate_limited_fan_out_honours_retry_after_and_drops_nobody(
    slack: FakeSlack, client: WebClient, deps: AppContext
) -> None:
    humans = [f"U{i}" for i in range(1, 31)]
    team(slack, humans)
    subscribe(deps, TUESDAY)
    slack.fail("chat.postMessage", status=429, times=2, retry_after=2)
    clock = Clock()
    run_due(deps, client, settings(), TUESDAY, Pacer(100, clock=clock.time, sleep=clock.sleep))
    assert clock.slept.count(2.0) == 2  # paused the whole queue for Retry-After, twice
    assert all(len(slack.dm_messages(u)) == 1 for u in humans)


def test_rate_limited_directory_reads_wait_for_retry_after_and_the_run_still_sends_everything_once(
    slack: FakeSlack, deps: AppContext
) -> None:
    """With the scheduler's own client, a 429 on users.list (Tier 2, on its second page) and on
    conversations.members is waited out and the call made again; chat.postMessage's 429s still
    reach the Sender, which pauses the whole queue for Retry-After."""
    humans = [f"U{i}" for i in range(1, 9)]
    team(slack, humans)
    for i in range(PAGE):  # the rest of the workspace: users.list needs a second page
        slack.add_user(f"U9{i:04d}")
    subscribe(deps, TUESDAY - timedelta(days=40))
    for user in humans[:5]:
        assess(deps, user, [3, 3, 3, 3, 3], TUESDAY - timedelta(days=10))
    slack.fail("users.list", status=429, retry_after=0, after=1)
    slack.fail("conversations.members", status=429, retry_after=0)
    slack.fail("chat.postMessage", status=429, times=2, retry_after=2)
    client = build_scheduler_client(Settings(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url))
    clock = Clock()

    report = run_due(deps, client, settings(), TUESDAY, Pacer(100, clock=clock.time, sleep=clock.sleep))

    assert (report.digests, report.prompts, report.failures) == (1, 3, 0)
    assert len(channel_posts(slack)) == 1 and "5 of 8 members" in str(channel_posts(slack)[0].blocks)
    assert [len(slack.dm_messages(u)) for u in humans] == [0] * 5 + [1] * 3
    assert len(slack.calls_to("users.list")) == 3  # two pages, the second asked twice
    assert len(slack.calls_to("conversations.members")) == 2
    assert clock.slept.count(2.0) == 2  # the posts' 429s paused the Sender's queue, not one call
    assert len(slack.calls_to("chat.postMessage")) == 4 + 2


class CrashingPacer(Pacer):
    """Stands in for a process that dies after ``limit`` sends."""

    def __init__(self, limit: int) -> None:
        clock = Clock()
        super().__init__(1000, clock=clock.time, sleep=clock.sleep)
        self.limit = limit

    def wait(self) -> None:
        if self.limit == 0:
            raise SystemExit("scheduler killed")
        self.limit -= 1
        super().wait()


def test_interrupted_fan_out_resumes_without_duplicates(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    humans = [f"U{i}" for i in range(1, 26)]
    team(slack, humans)
    subscribe(deps, TUESDAY)
    with pytest.raises(SystemExit):
        run_due(deps, client, settings(), TUESDAY, CrashingPacer(10))
    sent_before = sum(len(slack.dm_messages(u)) for u in humans)
    assert sent_before == 10
    run_due(deps, client, settings(), TUESDAY + timedelta(minutes=15), pacer())
    assert all(len(slack.dm_messages(u)) == 1 for u in humans)
    with deps.sessions() as s:
        assert s.scalar(select(func.count(Send.id)).where(Send.kind == "prompt", Send.status == "sent")) == 25


def test_deactivated_users_are_skipped(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    team(slack, ["U1", "U2"])
    assess(deps, "U2", [1, 1, 1, 1, 1], TUESDAY - timedelta(days=200))
    slack.users["U2"]["deleted"] = True
    subscribe(deps, TUESDAY)
    run_due(deps, client, settings(), TUESDAY, pacer())
    assert len(slack.dm_messages("U1")) == 1 and slack.dm_messages("U2") == []


def test_digest_now_posts_at_once_even_mid_period(slack: FakeSlack, client: WebClient, deps: AppContext) -> None:
    humans = [f"U{i}" for i in range(1, 6)]
    team(slack, humans)
    subscribe(deps, TUESDAY)
    for user in humans:
        assess(deps, user, [4, 4, 4, 4, 4], TUESDAY)
    digest = post_digest_now(deps, client, settings(), CHANNEL, TUESDAY)
    assert digest.visible and digest.level == 4
    assert "🟢" in str(channel_posts(slack)[0].blocks)
    with pytest.raises(LookupError):
        post_digest_now(deps, client, settings(), "C0NOPE", TUESDAY)


def test_a_digest_with_signals_shows_them_and_flags_where_the_team_answered_far_from_them(
    slack: FakeSlack, client: WebClient, database: Database, small_bank: Questionnaire
) -> None:
    import copy
    import json

    from bot.app import signals
    from bot.domain.questionnaire import parse_questionnaire
    from bot.domain.signals import SourceKind

    doc = json.loads(SMALL_BANK.read_text())
    doc = copy.deepcopy(doc)
    levels = {"on-demand": 4, "daily": [3, 4], "weekly": [2, 3], "monthly": 2, "fewer": 1}
    doc["questions"][1]["evidence"] = [{"metric": "deployment_frequency", "levels": levels}]
    deps = AppContext(database.sessions, parse_questionnaire(doc))
    humans = [f"U{i}" for i in range(1, 6)]
    team(slack, humans)
    subscribe(deps, TUESDAY - timedelta(days=40))
    source = signals.add_source(
        database.sessions, SourceKind.EVENTS, CHANNEL, TUESDAY, created_by="U0LEAD", team=TEAM_ID, secret="tok"
    )
    lines = [
        json.dumps(
            {
                "type": "deployment",
                "id": f"d{i}",
                "at": (TUESDAY - timedelta(days=20 * i)).isoformat(),
                "sha": f"{i:040x}",
            }
        )
        for i in (1, 2)  # two in the last 90 days: DORA's "monthly" band, which the bank says supports L2
    ]
    signals.import_events(database.sessions, source.source.id, lines, TUESDAY)
    for user in humans:
        assess(deps, user, [2, 4, 2, 2, 2], TUESDAY - timedelta(days=10))  # everyone says L4 on the cited question
    assert run_due(deps, client, settings(), TUESDAY, pacer()).digests == 1
    (digest,) = channel_posts(slack)
    body = json.dumps(digest.blocks, ensure_ascii=False)
    assert f"*Measured* in <#{CHANNEL}>, last 90 days" in body and "2 production deployments" in body
    title = deps.bank.questions[1].title
    assert f":warning: *{title}*: self-assessed 🟢 L4, measured 🟠 L2" in body
