"""The distributed app end to end: `compass serve --http` with SLACK_CLIENT_ID and no bot token,
installed by several workspaces through Bolt's OAuth flow against the fake Slack, each getting its
replies with its own token; uninstalls, revoked tokens, reinstalls and bad OAuth inputs."""

from __future__ import annotations

import html
import http.client
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
from conftest import SMALL_BANK
from cryptography.fernet import Fernet
from fakeslack import FakeSlack, Install
from harness import FORM, AppProcess, Slack
from sqlalchemy import func, select, text

from bot.app import installs
from bot.db.models import Respondent, Workspace
from bot.db.setup import Database, open_database
from bot.run.installations import Installations

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"


@dataclass
class Page:
    status: int
    body: str
    headers: dict[str, str]


def get(url: str, cookie: str | None = None) -> Page:
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers={"Cookie": cookie or ""})
        response = conn.getresponse()
        return Page(response.status, response.read().decode(), {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


@dataclass
class Env:
    fake: FakeSlack
    app: AppProcess
    slack: Slack
    db: Database
    installations: Installations

    def start_install(self) -> tuple[str, str]:
        """Open /slack/install: the authorize URL its button points at, and the state cookie."""
        page = get(self.app.url + "/slack/install")
        assert page.status == 200, page.body
        link = html.unescape(re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.body).group(1))  # type: ignore[union-attr]
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        return link, cookie

    def install(self, install: Install) -> Page:
        """The whole flow, as a browser does it: install page, Slack's authorize page, back to the redirect."""
        self.fake.next_install(install)
        link, cookie = self.start_install()
        assert link.startswith(self.fake.authorize_url())
        back = get(link)
        assert back.status == 302
        return get(back.headers["location"], cookie)

    def stored(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM slack_installations")).scalar_one())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('oauth') / 'compass.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    with FakeSlack() as fake:
        fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
        del fake.tokens[next(iter(fake.tokens))]  # no bot token of its own: every token comes from an install
        app = AppProcess(fake.api_url, url, SMALL_BANK)
        app.env.update(
            {
                "SLACK_BOT_TOKEN": "",
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "COMPASS_PUBLIC_URL": app.url,
                "COMPASS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "COMPASS_PURGE_AFTER_DAYS": "30",
            }
        )
        with app:
            db = open_database(url, auto_migrate=False)
            yield Env(fake, app, Slack(app.url, fake.response_url()), db, Installations(CLIENT_ID, db.engine))
            db.dispose()
        assert fake.block_errors == [], fake.block_errors


def team() -> str:
    return f"T{uuid.uuid4().hex[:8].upper()}"


def dm_tokens(env: Env, user: str) -> set[str | None]:
    return {c.token for c in env.fake.calls_to("chat.postMessage") if c.params.get("channel") in (user, f"D{user}")}


def start_assessment(env: Env, user: str, team_id: str, **extra: str) -> None:
    body = dict(parse_qsl(env.slack.command_body(user, "start", team=team_id)))
    body.update(extra)
    # The same user id may be in two workspaces: wait for this start's own DM, not the first one.
    before = len(env.fake.dm_messages(user))
    reply = env.slack.send(urlencode(body), FORM)
    assert reply.status == 200, reply.body
    env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) > before)


def uninstall_event(
    env: Env, team_id: str, kind: str = "app_uninstalled", sent: float | None = None, org: str | None = None
) -> None:
    """The event as Slack sends it; ``org``: of an org-wide install (its authorization names no team)."""
    event: dict[str, object] = {"type": kind, "event_ts": f"{time.time():.6f}"}
    if kind == "tokens_revoked":
        event["tokens"] = {"oauth": ["U0INSTALLER"], "bot": ["U0BOT"]}
    body: dict[str, object] = {
        "token": "unused",
        "team_id": team_id,
        "api_app_id": "A0COMPASS",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(sent if sent is not None else time.time()),
    }
    if org:
        body["enterprise_id"] = org
        body["is_enterprise_install"] = True
        body["authorizations"] = [{"enterprise_id": org, "team_id": None, "is_enterprise_install": True}]
    reply = env.slack.send(json.dumps(body), "application/json")
    assert reply.status == 200, reply.body


def bot_rows(env: Env, team_id: str) -> int:
    with env.db.engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM slack_bots WHERE team_id = :t"), {"t": team_id}).scalar_one()
        )


def org_bot_rows(env: Env, enterprise_id: str) -> int:
    with env.db.engine.connect() as conn:
        query = text("SELECT count(*) FROM slack_bots WHERE enterprise_id = :e AND team_id IS NULL")
        return int(conn.execute(query, {"e": enterprise_id}).scalar_one())


def workspace(env: Env, team_id: str) -> Workspace | None:
    with env.db.sessions() as s:
        return s.scalars(select(Workspace).where(Workspace.external_id == team_id)).one_or_none()


def people(env: Env, team_id: str) -> int:
    with env.db.sessions() as s:
        stmt = select(func.count(Respondent.id)).join(Workspace).where(Workspace.external_id == team_id)
        return int(s.scalar(stmt) or 0)


def test_install_page_redirects_to_slack_with_the_scopes_and_a_state(env: Env) -> None:
    link, cookie = env.start_install()
    query = dict(parse_qsl(urlparse(link).query))
    assert query["client_id"] == CLIENT_ID
    assert "chat:write" in query["scope"].split(",") and "commands" in query["scope"].split(",")
    assert query["redirect_uri"] == env.app.url + "/slack/oauth_redirect"
    assert cookie == f"slack-app-oauth-state={query['state']}"


def test_two_workspaces_install_and_each_gets_its_replies_with_its_own_token(env: Env) -> None:
    a, b = team(), team()
    for t in (a, b):
        page = env.install(Install(t, team_name=f"Team {t}"))
        assert page.status == 200, (page.body, env.app.log()[-3000:])
        assert "MLOps Compass is installed" in page.body and f"Team {t}" in page.body
        assert f"slack://app?team={t}" in page.body
    assert env.fake.calls_to("oauth.v2.access")
    token_a, token_b = env.fake.token_of(a), env.fake.token_of(b)
    assert token_a != token_b
    # Stored, and encrypted: the token itself is nowhere in the table.
    with env.db.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT bot_token FROM slack_bots"))]
    assert token_a not in stored and all(s.startswith("fernet:") for s in stored)

    # The same user id in two workspaces is two people, each answered with its workspace's token.
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    start_assessment(env, user, a)
    assert dm_tokens(env, user) == {token_a}
    start_assessment(env, user, b)
    env.fake.wait_for(lambda: len(env.fake.dm_messages(user)) >= 2)
    assert dm_tokens(env, user) == {token_a, token_b}
    assert people(env, a) == 1 and people(env, b) == 1


def test_an_org_wide_install_serves_its_workspaces_with_the_org_token(env: Env) -> None:
    org = f"E{uuid.uuid4().hex[:8].upper()}"
    page = env.install(Install(None, enterprise_id=org, enterprise_name="Big Org"))
    assert page.status == 200 and "Big Org" in page.body
    assert f"/manage/{org}/integrations/profile/" in page.body
    token = env.fake.token_of(None, org)
    ws, user = team(), f"U{uuid.uuid4().hex[:8].upper()}"
    start_assessment(env, user, ws, enterprise_id=org, is_enterprise_install="true")
    posts = [c for c in env.fake.calls_to("chat.postMessage") if c.params.get("channel") in (user, f"D{user}")]
    assert {c.token for c in posts} == {token}
    assert all(c.params.get("team_id") == ws for c in posts)  # an org token names the workspace


def test_an_org_wide_uninstall_stops_every_workspace_of_the_org_and_purges_them_after_the_grace_period(
    env: Env,
) -> None:
    org = f"E{uuid.uuid4().hex[:8].upper()}"
    assert env.install(Install(None, enterprise_id=org, enterprise_name="Grid Org")).status == 200
    first, second, other = team(), team(), team()
    env.install(Install(other))
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    for ws in (first, second):
        start_assessment(env, user, ws, enterprise_id=org, is_enterprise_install="true")
    start_assessment(env, user, other)
    for ws in (first, second):  # each workspace's row records its organisation
        assert (row := workspace(env, ws)) is not None and row.enterprise_id == org
    assert (row := workspace(env, other)) is not None and row.enterprise_id is None

    uninstall_event(env, first, org=org)
    env.fake.wait_for(lambda: org_bot_rows(env, org) == 0)
    rows = env.fake.wait_for(
        lambda: (
            all((w := workspace(env, ws)) is not None and w.uninstalled_at for ws in (first, second))
            and [workspace(env, ws) for ws in (first, second)]
        )
    )
    for ws_row in rows:
        assert ws_row.purge_after - ws_row.uninstalled_at == timedelta(days=30)
    assert installs.stopped_workspaces(env.db.sessions) >= {first, second}
    assert other not in installs.stopped_workspaces(env.db.sessions)
    at = rows[0].uninstalled_at
    assert not {first, second} & set(installs.purge_due(env.db.sessions, at + timedelta(days=29)))
    assert people(env, first) == 1 and people(env, second) == 1
    purged = installs.purge_due(env.db.sessions, at + timedelta(days=30, seconds=1))
    assert {first, second} <= set(purged)
    assert workspace(env, first) is None and workspace(env, second) is None
    assert people(env, first) == 0 and people(env, second) == 0
    assert people(env, other) == 1 and bot_rows(env, other) == 1 and workspace(env, other) is not None


def test_an_org_reinstall_in_the_grace_period_keeps_the_data_of_its_workspaces(env: Env) -> None:
    org = f"E{uuid.uuid4().hex[:8].upper()}"
    assert env.install(Install(None, enterprise_id=org)).status == 200
    first, second = team(), team()
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    for ws in (first, second):
        start_assessment(env, user, ws, enterprise_id=org, is_enterprise_install="true")
    uninstalled_at = time.time()
    uninstall_event(env, first, "tokens_revoked", sent=uninstalled_at, org=org)
    env.fake.wait_for(lambda: all((w := workspace(env, ws)) is not None and w.purge_after for ws in (first, second)))
    time.sleep(1.1)  # the reinstall is a whole second later than the revocation's event_time
    assert env.install(Install(None, enterprise_id=org)).status == 200
    for ws in (first, second):
        assert (row := workspace(env, ws)) is not None and row.uninstalled_at is None and row.purge_after is None
    # The first uninstall's events arrive late: the org's fresh token and its workspaces stay.
    uninstall_event(env, first, sent=uninstalled_at, org=org)
    uninstall_event(env, second, "tokens_revoked", sent=uninstalled_at, org=org)
    env.fake.wait_idle()
    time.sleep(0.5)
    assert org_bot_rows(env, org) == 1
    assert not {first, second} & installs.stopped_workspaces(env.db.sessions)
    assert not {first, second} & set(installs.purge_due(env.db.sessions, datetime.now(UTC) + timedelta(days=60)))
    assert people(env, first) == 1 and people(env, second) == 1


@pytest.mark.parametrize(
    "case,status,reason",
    [
        ("no_state", 401, "invalid_code"),  # stateless callbacks are admin-approved installs: the code decides
        ("state_without_its_browser", 400, "invalid_browser"),
        ("reused_state", 401, "invalid_state"),
        ("denied", 200, "access_denied"),
        ("bad_code", 401, "invalid_code"),
    ],
)
def test_bad_oauth_inputs_get_a_clear_page_and_store_nothing(env: Env, case: str, status: int, reason: str) -> None:
    before = env.stored()
    redirect = env.app.url + "/slack/oauth_redirect"
    if case == "no_state":
        page = get(f"{redirect}?code=whatever")
    elif case == "state_without_its_browser":
        link, _ = env.start_install()
        state = dict(parse_qsl(urlparse(link).query))["state"]
        page = get(f"{redirect}?code=whatever&state={state}")  # no cookie: another browser, or a forged link
    elif case == "reused_state":
        first = env.install(Install(team()))
        assert first.status == 200
        before = env.stored()
        link, cookie = env.start_install()
        state = dict(parse_qsl(urlparse(link).query))["state"]
        back = get(link)
        assert get(back.headers["location"], cookie).status == 200
        before = env.stored()
        page = get(f"{redirect}?code=another&state={state}", f"slack-app-oauth-state={state}")
    elif case == "denied":
        env.fake.deny_next_install()
        link, cookie = env.start_install()
        page = get(get(link).headers["location"], cookie)
    else:
        link, cookie = env.start_install()
        state = dict(parse_qsl(urlparse(link).query))["state"]
        page = get(f"{redirect}?code=not-issued&state={state}", cookie)
    assert page.status == status, page.body
    assert f'data-reason="{reason}"' in page.body and "was not installed" in page.body
    assert "/slack/install" in page.body
    assert env.stored() == before


def test_uninstall_deletes_tokens_at_once_and_data_after_the_grace_period(env: Env) -> None:
    gone, kept = team(), team()
    for t in (gone, kept):
        env.install(Install(t))
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    start_assessment(env, user, gone)
    start_assessment(env, user, kept)
    uninstall_event(env, gone)
    env.fake.wait_for(lambda: bot_rows(env, gone) == 0)
    ws = env.fake.wait_for(lambda: (w := workspace(env, gone)) is not None and w.uninstalled_at and w)
    assert ws.purge_after is not None and ws.purge_after - ws.uninstalled_at == timedelta(days=30)
    assert installs.stopped_workspaces(env.db.sessions) >= {gone}
    # Inside the grace period nothing is purged; after it, only that workspace's data goes.
    assert installs.purge_due(env.db.sessions, ws.uninstalled_at + timedelta(days=29)) == []
    assert people(env, gone) == 1
    purged = installs.purge_due(env.db.sessions, ws.uninstalled_at + timedelta(days=30, seconds=1))
    assert gone in purged and workspace(env, gone) is None and people(env, gone) == 0
    assert people(env, kept) == 1 and bot_rows(env, kept) == 1
    assert kept not in installs.stopped_workspaces(env.db.sessions)


def test_a_revoked_bot_token_is_an_uninstall(env: Env) -> None:
    t = team()
    env.install(Install(t))
    start_assessment(env, f"U{uuid.uuid4().hex[:8].upper()}", t)
    uninstall_event(env, t, "tokens_revoked")
    env.fake.wait_for(lambda: bot_rows(env, t) == 0)
    env.fake.wait_for(lambda: (w := workspace(env, t)) is not None and w.uninstalled_at is not None)


def test_a_reinstall_in_the_grace_period_keeps_the_data_and_late_events_keep_the_new_token(env: Env) -> None:
    t = team()
    env.install(Install(t))
    start_assessment(env, f"U{uuid.uuid4().hex[:8].upper()}", t)
    uninstalled_at = time.time()
    uninstall_event(env, t, sent=uninstalled_at)
    env.fake.wait_for(lambda: (w := workspace(env, t)) is not None and w.purge_after is not None)
    time.sleep(1.1)  # the reinstall is a whole second later than the uninstall's event_time
    assert env.install(Install(t)).status == 200
    ws = workspace(env, t)
    assert ws is not None and ws.purge_after is None and ws.uninstalled_at is None
    # The revocation events of the first uninstall arrive late: the fresh token stays.
    uninstall_event(env, t, "tokens_revoked", sent=uninstalled_at)
    uninstall_event(env, t, sent=uninstalled_at)
    env.fake.wait_idle()
    time.sleep(0.5)
    assert bot_rows(env, t) == 1
    assert installs.purge_due(
        env.db.sessions, datetime.now(UTC) + timedelta(days=60)
    ) == [] or t not in installs.purge_due(env.db.sessions, datetime.now(UTC) + timedelta(days=60))
    assert people(env, t) == 1


def test_a_signed_request_from_a_workspace_without_an_installation_does_nothing(env: Env) -> None:
    user = f"U{uuid.uuid4().hex[:8].upper()}"
    before = len(env.fake.responses)
    reply = env.slack.command(user, "start", team=team())
    assert reply.status in (200, 401)
    env.fake.wait_for(lambda: len(env.fake.responses) > before)  # Bolt tells the person the install is gone
    env.fake.wait_idle()
    assert env.fake.dm_messages(user) == []
    assert "Although the app should be installed" in env.app.log()


def test_a_rotating_token_is_refreshed_when_a_request_needs_it(env: Env) -> None:
    t = team()
    env.fake.rotating, env.fake.expires_in = True, 60  # expires within Bolt's 120-minute window: due at once
    try:
        env.install(Install(t))
        issued = env.fake.token_of(t)
        user = f"U{uuid.uuid4().hex[:8].upper()}"
        start_assessment(env, user, t)
    finally:
        env.fake.rotating, env.fake.expires_in = False, 43200
    refreshes = [c for c in env.fake.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert refreshes
    assert issued not in env.fake.tokens  # spent: the DM went out with a refreshed token
    assert dm_tokens(env, user) and issued not in dm_tokens(env, user)


def test_an_install_an_admin_approved_on_slacks_pages_arrives_without_a_state_and_is_stored(env: Env) -> None:
    ws = team()
    env.fake.next_install(Install(ws))
    before = env.stored()
    # Slack's own pages send the admin to the authorize step with no state of ours, and back with none.
    query = {"client_id": CLIENT_ID, "scope": "commands", "redirect_uri": env.app.url + "/slack/oauth_redirect"}
    authorize = f"{env.fake.authorize_url()}?{urlencode(query)}"
    back = get(authorize)
    assert back.status == 302 and "state=" not in back.headers["location"]
    page = get(back.headers["location"])

    assert page.status == 200 and "MLOps Compass is installed" in page.body
    assert env.stored() == before + 1
    start_assessment(env, f"U{uuid.uuid4().hex[:8].upper()}", ws)  # and it answers with its own token


@pytest.mark.parametrize("table", ["slack_installations", "slack_bots"])
def test_a_database_that_fails_to_store_the_installation_gets_the_clear_page_and_keeps_nothing(
    env: Env, table: str
) -> None:
    # The table is renamed away under the running app for the one request: a failing database. With
    # the bots' table gone, the installation's row was already written when the failure came.
    env.fake.next_install(Install(team()))
    link, cookie = env.start_install()
    back = get(link)
    before = env.stored()
    with env.db.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        page = get(back.headers["location"], cookie)
    finally:
        with env.db.engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))

    assert page.status == 500, page.body
    assert 'data-reason="storage_error"' in page.body and "could not be saved" in page.body
    assert env.stored() == before
