"""Each job's token: the workspace's installation, rotated once under a lock; the scheduler walks them all."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from fakeslack import FakeSlack
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.app import installs
from bot.app.assessment import record_answer, restart_assessment
from bot.app.context import AppContext
from bot.app.digests import subscribe_digest
from bot.app.outreach import OutreachSettings
from bot.app.types import Click, Who
from bot.db.setup import Database
from bot.domain.questionnaire import Questionnaire
from bot.domain.schedule import WorkingHours
from bot.run.installations import Installations, InstalledTokens
from bot.slack.scheduled import run_all_due
from bot.slack.tokens import NotInstalled, OneWorkspace, Tenant, tenant_of

CLIENT_ID, SECRET = "1111.2222", "secret"


def install(fake: FakeSlack, installs_: Installations, team: str | None, enterprise: str | None = None) -> str:
    who = {"team_id": team, "enterprise_id": enterprise, "org": team is None, "user_id": f"U0BOT{team}"}
    token, refresh = fake._issue(who)
    installs_.store.save(
        Installation(
            app_id="A0COMPASS",
            enterprise_id=enterprise,
            team_id=team,
            bot_token=token,
            bot_refresh_token=refresh,
            bot_token_expires_in=60 if refresh else None,  # about to expire: due for rotation
            bot_user_id=who["user_id"],
            bot_id="B0BOT",
            user_id="U0INSTALLER",
            is_enterprise_install=team is None,
        )
    )
    return token


def tokens_for(fake: FakeSlack, database: Database) -> InstalledTokens:
    def make(token: str, team: str | None) -> WebClient:
        return WebClient(token=token or None, base_url=fake.api_url, team_id=team)

    return InstalledTokens(Installations(CLIENT_ID, database.engine), make, SECRET)


def test_tenant_of_reads_commands_actions_and_org_events() -> None:
    assert tenant_of({"team_id": "T1", "is_enterprise_install": "false"}) == Tenant(None, "T1")
    assert tenant_of({"team": {"id": "T2"}, "enterprise": {"id": "E1"}, "is_enterprise_install": True}) == Tenant(
        "E1", "T2", True
    )
    event = {"team_id": "T3", "authorizations": [{"enterprise_id": "E2", "is_enterprise_install": True}]}
    assert tenant_of(event) == Tenant("E2", "T3", True)


def test_each_workspace_gets_its_own_token_and_an_unknown_one_none(fake: FakeSlack, database: Database) -> None:
    tokens = tokens_for(fake, database)
    a = install(fake, tokens.installations, "T0A")
    b = install(fake, tokens.installations, "T0B")
    assert tokens.client_for(Tenant(None, "T0A")).token == a
    assert tokens.client_for(Tenant(None, "T0B")).token == b
    with pytest.raises(NotInstalled):
        tokens.client_for(Tenant(None, "T0NONE"))


def test_an_org_install_serves_each_of_its_workspaces(fake: FakeSlack, database: Database) -> None:
    tokens = tokens_for(fake, database)
    org = install(fake, tokens.installations, None, "E0ORG")
    install(fake, tokens.installations, "T0A")
    fake.org_teams["E0ORG"] = ["T0X", "T0Y"]
    assert tokens.tenants() == [Tenant(None, "T0A"), Tenant("E0ORG", "T0X", True), Tenant("E0ORG", "T0Y", True)]
    client = tokens.client_for(Tenant("E0ORG", "T0X", True))
    assert client.token == org and client.default_params["team_id"] == "T0X"


def test_a_rotating_token_is_refreshed_once_even_by_two_processes_at_once(fake: FakeSlack, database: Database) -> None:
    fake.oauth_app(CLIENT_ID, SECRET)
    fake.rotating = True
    first, second = tokens_for(fake, database), tokens_for(fake, database)
    old = install(fake, first.installations, "T0R")
    got: list[str | None] = []
    threads = [
        threading.Thread(target=lambda t=t: got.append(t.client_for(Tenant(None, "T0R")).token))
        for t in (first, second)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refreshes = [c for c in fake.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    assert got[0] == got[1] != old
    assert got[0] in fake.tokens and old not in fake.tokens
    bot = first.installations.store.find_bot(enterprise_id=None, team_id="T0R")
    assert bot is not None and bot.bot_token == got[0] and bot.bot_token_expires_at > time.time() + 3600


def settings() -> OutreachSettings:
    return OutreachSettings(3, timedelta(days=90), WorkingHours(frozenset(range(7)), 0, 24), 50.0)


def test_the_scheduler_walks_every_installed_workspace_and_skips_an_uninstalled_one(
    fake: FakeSlack, database: Database, small_bank: Questionnaire
) -> None:
    tokens = tokens_for(fake, database)
    a = install(fake, tokens.installations, "T0A")
    b = install(fake, tokens.installations, "T0B")
    c = install(fake, tokens.installations, "T0C")
    ctx = AppContext(database.sessions, small_bank)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    run_all_due(ctx, tokens, settings(), now)
    assert {call.token for call in fake.calls_to("users.list")} == {a, b, c}
    installs.uninstalled(database.sessions, "T0C", now, timedelta(days=30))
    fake.calls.clear()
    run_all_due(ctx, tokens, settings(), now + timedelta(hours=1))
    assert {call.token for call in fake.calls_to("users.list")} == {a, b}
    fake.revoke("T0B")  # a dead token fails its own workspace's run, never the others'
    fake.calls.clear()
    report = run_all_due(ctx, tokens, settings(), now + timedelta(hours=2))
    assert {call.token for call in fake.calls_to("users.list")} >= {a}
    assert report.failures == 1


def test_the_scheduler_records_each_org_workspace_and_an_org_uninstall_stops_them(
    fake: FakeSlack, database: Database, small_bank: Questionnaire
) -> None:
    tokens = tokens_for(fake, database)
    org = install(fake, tokens.installations, None, "E0GRID")
    own = install(fake, tokens.installations, "T0OWN")
    fake.org_teams["E0GRID"] = ["T0G1", "T0G2"]
    ctx = AppContext(database.sessions, small_bank)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    run_all_due(ctx, tokens, settings(), now)
    assert {call.token for call in fake.calls_to("users.list")} == {org, own}
    stopped = installs.org_uninstalled(database.sessions, "E0GRID", now, timedelta(days=30))
    assert stopped == ["T0G1", "T0G2"]  # the workspaces its runs were for, not the one outside the org
    assert installs.stopped_workspaces(database.sessions) == {"T0G1", "T0G2"}
    assert installs.org_reinstalled(database.sessions, "E0GRID") == ["T0G1", "T0G2"]
    assert installs.stopped_workspaces(database.sessions) == set()


def test_the_one_workspace_mode_runs_as_before(fake: FakeSlack, database: Database, small_bank: Questionnaire) -> None:
    from fakeslack import BOT_TOKEN

    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    run_all_due(AppContext(database.sessions, small_bank), OneWorkspace(client), settings(), datetime.now(UTC))
    assert {call.token for call in fake.calls_to("users.list")} == {BOT_TOKEN}


def test_jobs_run_due_and_digest_in_the_distributed_mode(fake: FakeSlack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from conftest import SMALL_BANK

    from bot.cli.main import main
    from bot.db.setup import open_database

    url = f"sqlite:///{tmp_path / 'compass.db'}"
    database = open_database(url)
    tokens = tokens_for(fake, database)
    a = install(fake, tokens.installations, "T0A")
    installs.uninstalled(database.sessions, "T0GONE", datetime.now(UTC), timedelta(0))
    database.dispose()
    env = {
        "DATABASE_URL": url,
        "HOME": str(tmp_path),
        "COMPASS_QUESTIONS": str(SMALL_BANK),
        "SLACK_API_URL": fake.api_url,
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": SECRET,
    }
    ran = CliRunner().invoke(main, ["jobs", "run-due"], env=env)
    assert ran.exit_code == 0, ran.output
    assert {c.token for c in fake.calls_to("users.list")} == {a}
    refused = CliRunner().invoke(main, ["digest", "--channel", "C0TEAM", "--now"], env=env)
    assert refused.exit_code == 1 and "--team" in refused.output


def test_two_workspaces_each_get_their_own_digest_with_their_own_token(
    fake: FakeSlack, database: Database, small_bank: Questionnaire
) -> None:
    tokens = tokens_for(fake, database)
    ctx = AppContext(database.sessions, small_bank)
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    issued = {}
    for team, channel, level in (("T0A", "C0A", 2), ("T0B", "C0B", 4)):
        issued[channel] = install(fake, tokens.installations, team)
        humans = [f"U{team}{i}" for i in range(3)]
        for user in humans:
            fake.add_user(user)
        fake.add_channel(channel, humans)
        subscribe_digest(ctx, Who(team, "U0LEAD"), channel, "weekly", now - timedelta(days=10))
        for user in humans:
            who = Who(team, user)
            progress = restart_assessment(ctx, who, now - timedelta(days=1))
            for question in small_bank.questions:
                record_answer(ctx, who, Click(progress.assessment_id, question.id, level), now - timedelta(days=1))

    run_all_due(ctx, tokens, settings(), now)

    digests = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") in issued]
    assert {(c.params["channel"], c.token) for c in digests} == {(ch, token) for ch, token in issued.items()}
    # each team's own three people, and only them: one workspace answered level 2, the other 4
    shown = {c.params["channel"]: str(c.params.get("blocks")) for c in digests}
    assert "3 of 3 members of <#C0A>" in shown["C0A"] and "(2.00 / 4)" in shown["C0A"]
    assert "3 of 3 members of <#C0B>" in shown["C0B"] and "(4.00 / 4)" in shown["C0B"]
