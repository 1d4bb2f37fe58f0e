"""The distributed app: Bolt's OAuth flow on our stores, its pages, and what an uninstall does.

``GET /slack/install`` and ``GET /slack/oauth_redirect`` are Bolt's own (its WSGI adapter serves
them beside ``/slack/events``); only the pages and the stores are ours. An uninstall or a revoked
bot token deletes the workspace's tokens at once, stops its scheduled sends and sets when its
data goes; each is ONE listener, because Bolt runs only the first listener an event matches.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.error import BoltError
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.app import installs
from bot.config import Settings
from bot.db.session import SessionFactory
from bot.run.installations import STATE_EXPIRATION_SECONDS, Installations, InstalledTokens
from bot.slack.scopes import BOT_SCOPES

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

# What each of Bolt's failure reasons means for the person in the browser.
FAILURES = {
    "access_denied": "The installation was cancelled, so nothing was installed.",
    "invalid_browser": "This page was opened from a different browser or an old link. Start again from the "
    "install page, in one browser.",
    "invalid_state": "This install link has expired or was already used. Start again from the install page.",
    "missing_code": "Slack did not send an authorization code. Start again from the install page.",
    "invalid_code": "Slack did not accept the authorization code (it may have expired or been used). "
    "Start again from the install page.",
    "storage_error": "The installation could not be saved. Nothing was installed; please try again later.",
}


def _page(title: str, body: str, status: int) -> BoltResponse:
    text = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return BoltResponse(status=status, body=text, headers={"Content-Type": "text/html; charset=utf-8"})


def success_page(sessions: SessionFactory) -> Callable[[SuccessArgs], BoltResponse]:
    def success(args: SuccessArgs) -> BoltResponse:
        found = args.installation
        team = found.team_id
        if team and found.enterprise_id and not found.is_enterprise_install:
            installs.seen(sessions, team, found.enterprise_id, datetime.now(UTC))
        if team and installs.reinstalled(sessions, team):
            log.info("workspace %s reinstalled the app: its data is kept and its purge called off", team)
        if found.is_enterprise_install and found.enterprise_id:
            kept = installs.org_reinstalled(sessions, found.enterprise_id)
            if kept:
                log.info(
                    "organisation %s reinstalled the app: the purges of %s are called off",
                    found.enterprise_id,
                    ", ".join(kept),
                )
        where = found.team_name or found.enterprise_name or team or found.enterprise_id or "your workspace"
        log.info("installed in %s (enterprise %s, team %s)", where, found.enterprise_id, team)
        if found.is_enterprise_install and found.enterprise_id:
            link = (
                f"https://app.slack.com/manage/{found.enterprise_id}/integrations/profile/{found.app_id}/workspaces/add"
            )
            action = "Choose the workspaces of your organisation that get it"
        else:
            link = f"slack://app?team={team}&id={found.app_id}"
            action = "Open MLOps Compass in Slack"
        body = (
            f"<p>MLOps Compass is installed in {html.escape(where)}.</p>"
            f'<p><a id="open" href="{html.escape(link)}">{action}</a>, then type <code>/compass start</code>.</p>'
        )
        return _page("MLOps Compass is installed", body, 200)

    return success


def failure_page(args: FailureArgs) -> BoltResponse:
    reason = args.reason
    log.warning("an install failed: %s%s", reason, f" ({args.error})" if args.error else "")
    message = FAILURES.get(reason, f"The installation did not complete ({reason}).")
    body = f'<p id="reason" data-reason="{html.escape(reason)}">{html.escape(message)}</p>'
    body += f'<p><a href="{INSTALL_PATH}">Start the installation again</a></p>'
    return _page("MLOps Compass was not installed", body, args.suggested_status_code)


def authorization_url(api_url: str) -> str:
    """Slack's authorize page beside its Web API: https://slack.com/api/ -> https://slack.com/oauth/v2/authorize
    (the same for GovSlack's slack-gov.com, and for a fake Slack in the tests)."""
    return api_url.removesuffix("/").removesuffix("/api") + "/oauth/v2/authorize"


def oauth_settings(
    settings: Settings, installations: Installations, sessions: SessionFactory, state_validation: bool = True
) -> OAuthSettings:
    assert settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET  # Settings.distributed
    public = (settings.COMPASS_PUBLIC_URL or "").rstrip("/")
    return OAuthSettings(
        authorization_url=authorization_url(settings.SLACK_API_URL),
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET.get_secret_value(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=f"{public}{REDIRECT_PATH}" if public else None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installations.store,
        state_store=installations.states,
        state_expiration_seconds=STATE_EXPIRATION_SECONDS,  # the cookie lives as long as the state row
        state_validation_enabled=state_validation,
        callback_options=CallbackOptions(success=success_page(sessions), failure=failure_page),
    )


class _StoringFlow(OAuthFlow):
    """Bolt's flow, whose storage_error page also covers a database that fails: Bolt shows that page
    only for a BoltError, and the SQLAlchemy store raises its own errors (an unreachable database,
    a lock), which would otherwise end the request with a bare 500."""

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        try:
            super().store_installation(request, installation)
        except BoltError:
            raise
        except Exception as exc:
            raise BoltError(f"the installation could not be stored: {type(exc).__name__}: {exc}") from exc


class CompassOAuthFlow(_StoringFlow):
    """Bolt's flow, and also the installs an admin approves on Slack's own pages (an app request
    approved from the admin dashboard, an org-wide install chosen there): those come back to the
    redirect URL with a code and no state, since no install page of ours started them.

    A callback with no state at all is handed to a second flow of Bolt's whose state check is off,
    so Slack's ``oauth.v2.access`` alone vouches for the code (a made-up one gets the invalid_code
    page and stores nothing). A state without the cookie of the browser that started it, or one
    already used, is still refused by Bolt's own check. Bolt has no per-request switch for this
    (``state_validation_enabled`` is one setting for the whole flow), hence the two flows.
    """

    def __init__(self, *, client: WebClient, settings: OAuthSettings, stateless: OAuthSettings) -> None:
        super().__init__(client=client, settings=settings)
        self._stateless = _StoringFlow(client=client, settings=stateless)

    def handle_callback(self, request: BoltRequest) -> BoltResponse:
        if "state" not in request.query and request.query.get("code"):
            log.info("an install without a state (approved on Slack's own pages): oauth.v2.access decides")
            return self._stateless.handle_callback(request)
        return super().handle_callback(request)


def oauth_flow(
    settings: Settings, installations: Installations, sessions: SessionFactory, client: WebClient
) -> CompassOAuthFlow:
    return CompassOAuthFlow(
        client=client,
        settings=oauth_settings(settings, installations, sessions),
        stateless=oauth_settings(settings, installations, sessions, state_validation=False),
    )


class LockedRotationAuthorize(InstallationStoreAuthorize):
    """Bolt's per-request lookup, but a token due for refresh is refreshed the way the worker and the
    scheduler do it (``InstalledTokens.rotate``, under the row lock), so no two processes ever spend
    the same single-use refresh token."""

    def __init__(self, tokens: InstalledTokens, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tokens = tokens

    def _rotate_and_save_tokens_if_necessary(self, installation: Installation | None) -> Installation | None:
        if installation is None or not installation.bot_refresh_token:
            return None  # the app asks for no user scopes, so only bot tokens rotate
        bot = installation.to_bot()
        if not self.tokens.due(bot):
            return None
        fresh = self.tokens.rotate(bot)
        installation.bot_token = fresh.bot_token
        installation.bot_refresh_token = fresh.bot_refresh_token
        installation.bot_token_expires_at = fresh.bot_token_expires_at
        return installation


class Uninstalls:
    """What app_uninstalled and tokens_revoked do; ``now`` and the grace period are passed in."""

    def __init__(
        self,
        installations: Installations,
        sessions: SessionFactory,
        grace: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.installations = installations
        self.sessions = sessions
        self.grace = grace
        self.clock = clock

    def _stale(self, body: dict[str, Any], enterprise_id: str | None, team_id: str | None) -> bool:
        """An event from before the latest install (late, or reordered with a reinstall) changes nothing."""
        sent = body.get("event_time")
        latest = self.installations.latest_installed_at(enterprise_id, team_id)
        if sent is None or latest is None:
            return False
        # event_time is whole seconds: the event is surely older only when its whole second is.
        return datetime.fromtimestamp(float(sent) + 1, UTC) <= latest

    def uninstalled(
        self, body: dict[str, Any], enterprise_id: str | None, team_id: str | None, org: bool = False
    ) -> str:
        if org:
            team_id = None  # the org-wide installation is stored without a team
        if self._stale(body, enterprise_id, team_id):
            log.warning("ignored an app_uninstalled for %s sent before its latest install", team_id or enterprise_id)
            return "stale"
        self.installations.store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
        return self._stop(enterprise_id, team_id)

    def revoked(
        self,
        body: dict[str, Any],
        enterprise_id: str | None,
        team_id: str | None,
        tokens: dict[str, Any],
        org: bool = False,
    ) -> str:
        if org:
            team_id = None
        if self._stale(body, enterprise_id, team_id):
            log.warning("ignored a tokens_revoked for %s sent before its latest install", team_id or enterprise_id)
            return "stale"
        store = self.installations.store
        for user_id in tokens.get("oauth") or []:
            store.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        if not tokens.get("bot"):
            return "users"
        store.delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        # Without its bot token the app can do nothing in the workspace: the same as an uninstall.
        store.delete_installation(enterprise_id=enterprise_id, team_id=team_id)
        return self._stop(enterprise_id, team_id)

    def _stop(self, enterprise_id: str | None, team_id: str | None) -> str:
        if not team_id:
            return self._stop_org(enterprise_id) if enterprise_id else "deleted"
        purge_at = installs.uninstalled(self.sessions, team_id, self.clock(), self.grace)
        log.info("workspace %s uninstalled: tokens deleted, sends stopped, data purged at %s", team_id, purge_at)
        return "stopped"

    def _stop_org(self, enterprise_id: str) -> str:
        """Every workspace of the organisation seen here stops, but one still installed on its own."""
        own = {i.team_id for i in self.installations.installed() if i.enterprise_id == enterprise_id and i.team_id}
        now = self.clock()
        teams = installs.org_uninstalled(self.sessions, enterprise_id, now, self.grace, own)
        log.info(
            "organisation %s uninstalled: tokens deleted, sends stopped in %s, data purged at %s",
            enterprise_id,
            ", ".join(teams) or "no workspace seen yet",
            now + self.grace,
        )
        return "stopped"


def register_uninstalls(app: App, uninstalls: Uninstalls) -> None:
    """One listener per event: Bolt stops at the first that matches (so never also its built-ins)."""

    def on_app_uninstalled(body: dict[str, Any], context: BoltContext) -> None:
        """The app was removed from a workspace: tokens now, sends now, data after the grace period."""
        uninstalls.uninstalled(body, context.enterprise_id, context.team_id, context.is_enterprise_install is True)

    def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        """Tokens were revoked: the users' go; a bot token revoked is an uninstall."""
        tokens = event.get("tokens") or {}
        org = context.is_enterprise_install is True
        uninstalls.revoked(body, context.enterprise_id, context.team_id, tokens, org)

    app.event("app_uninstalled")(on_app_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
