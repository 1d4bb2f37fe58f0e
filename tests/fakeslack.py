"""A fake Slack Web API on 127.0.0.1, for tests and benchmarks.

It speaks the wire format slack_sdk uses (JSON bodies, form bodies, query strings,
Bearer tokens), records every call, checks every Block Kit payload with slack_sdk's
models, and can be told to fail: HTTP 429 with Retry-After, 5xx, ``ok: false``, or a call
that Slack carries out but whose reply never arrives (the connection closes first).
``gate`` holds a method's calls until another caller's arrive, so processes started together
make their next calls side by side.

Several workspaces: every bot token belongs to one workspace (``tokens``); the one ``BOT_TOKEN``
is TEAM_ID's. ``oauth_app(client_id, secret)`` makes it answer Slack's OAuth: ``/oauth/v2/authorize``
(a page that redirects back to the app's redirect URL with a code it issued and the state, or with
``error=access_denied`` after ``deny_next_install``), ``oauth.v2.access`` (checks the client and
the single-use code, returns an installation like Slack's, for a workspace or an org) and a
``token_rotation`` mode (expiring tokens with refresh tokens). Each call records the token it carried.

File uploads are the three steps of ``files_upload_v2``: ``files.getUploadURLExternal`` hands out
an upload URL on this same server, the bytes are POSTed there, and ``files.completeUploadExternal``
shares them (``files`` records what was shared; a shared file is not added to ``messages``).
``without_scope("files:write")`` makes the methods that need a scope answer ``missing_scope``.

Slack's rate limits are always in force (``TIERS``): a token bucket per method and workspace, holding
one minute's worth of calls, refilled at the tier's rate; ``chat.postMessage`` has one bucket per
channel (one a second) besides its workspace-wide one. A call beyond its budget gets HTTP 429 with
``{"ok": false, "error": "ratelimited"}`` and a Retry-After that tells the truth: the whole seconds
until the bucket holds a call again. ``limit(method, ...)`` sets a tighter budget for a test.

A ``response_url`` from a click on a message (``message_response_url``) names that message, the person
and when Slack issued it. Like Slack's, it works 5 times within 30 minutes (afterwards: 404,
``used_url`` or ``expired_url``); ``replace_original`` replaces the message (text, blocks and metadata:
what is left out is gone), ``delete_original`` deletes it, and anything else posts an ephemeral reply
to the person (recorded in ``responses``, as every reply to a command's response_url is).

Every change to a message (posted, updated, replaced or deleted through its response_url) takes the
next number of one counter: ``message_version(channel, ts)`` is the number of the message's last
change (``ts`` None: of any message in the channel), and ``wait_for_change(channel, ts, after_version,
timeout)`` returns as soon as it is higher, without polling.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0COMPASS-1-test-token"  # app-level token: Socket Mode's apps.connections.open
TEAM_ID = "T0TEST"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0COMPASS"
METADATA_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_-]+$")  # Slack ignores metadata with any other event_type


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float


@dataclass
class Install:
    """Who installs next through the fake's authorize page: a workspace, or an org (team None)."""

    team_id: str | None
    team_name: str = "Workspace"
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    installer: str = "U0INSTALLER"

    @property
    def org(self) -> bool:
        return self.team_id is None


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    times: int
    retry_after: int | None = None
    after: int = 0  # calls that go through normally before this failure starts


@dataclass
class Gate:
    barrier: threading.Barrier
    remaining: int  # calls still to hold


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0
    metadata: dict[str, Any] | None = None
    user: str | None = None  # an ephemeral message's only reader


@dataclass
class Upload:
    """A file from files.getUploadURLExternal on: its bytes once POSTed, where it went once completed."""

    id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


# What Slack asks for before it runs these methods (their reference pages).
SCOPES = {"files.getUploadURLExternal": "files:write", "files.completeUploadExternal": "files:write"}
MAX_ALT_TXT = 1000


@dataclass
class RateLimit:
    per_second: float
    burst: int
    tokens: float = 0.0
    last: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> int | None:
        """Spend one call; None when it is within budget, else the seconds to wait (Retry-After)."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.last) * self.per_second)
        self.last = max(self.last, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


# Slack's budgets per method, per workspace and app (docs.slack.dev/apis/web-api/rate-limits and each
# method's reference page; the Java SDK's MethodsRateLimits.java agrees): calls per minute. Tier 1: 1,
# Tier 2: 20, Tier 3: 50, Tier 4: 100; each bucket holds one minute's worth ("sporadic bursts are
# welcome"). Special tiers: auth.test "hundreds per minute" (read as 300); chat.postMessage one a second
# per channel ("generous burst behavior": 5 here) and "several hundred messages per minute" per
# workspace (read as 300). A method missing here is a mistake in the fake or a new call in the app:
# it is answered, and recorded in block_errors so that the test fails.
TIER_1, TIER_2, TIER_3, TIER_4 = 1, 20, 50, 100
TIERS: dict[str, int] = {
    "apps.connections.open": TIER_1,
    "users.list": TIER_2,
    "auth.teams.list": TIER_2,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "conversations.open": TIER_3,
    "conversations.info": TIER_3,
    "conversations.history": TIER_3,
    "chat.postEphemeral": TIER_4,
    "views.publish": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "users.info": TIER_4,
    "conversations.members": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
    "oauth.v2.access": TIER_4,
    "auth.test": 300,
    "chat.postMessage": 300,
}
UNLIMITED = frozenset({"api.test"})
POST_PER_CHANNEL = (1.0, 5)  # chat.postMessage: calls a second into one channel, and the burst
RESPONSE_URL_USES = 5  # a response_url works this many times ...
RESPONSE_URL_LIFETIME = 30 * 60  # ... within this many seconds of the interaction


class FakeSlack:
    """Start with ``with FakeSlack() as slack:``; point SLACK_API_URL at ``slack.api_url``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # POSTs to response_url
        self.messages: dict[tuple[str, str], Message] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.ephemerals: list[Message] = []  # chat.postEphemeral, each with the user it was shown to in ``user``
        self.block_errors: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.delay: dict[str, float] = {}
        self.gates: dict[str, Gate] = {}
        self.rate_limits: dict[str, RateLimit] = {}  # a test's own, tighter budgets: per method
        self._budgets: dict[tuple[str, str], RateLimit] = {}  # (method or channel key, workspace) -> bucket
        self.rate_limited: int = 0
        self.limited_calls: list[Call] = []  # every call answered 429
        self._response_uses: dict[str, int] = defaultdict(int)
        self.socket_url: str | None = None  # what apps.connections.open hands out (Socket Mode)
        self.uploads: dict[str, Upload] = {}
        self.shared_files: dict[str, tuple[dict[str, Any], bytes]] = {}  # shared by people: files.info, download
        self.missing_scopes: set[str] = set()
        # Bot tokens and the workspace (or org) each belongs to.
        self.tokens: dict[str, dict[str, Any]] = {
            BOT_TOKEN: {"team_id": TEAM_ID, "enterprise_id": None, "org": False, "user_id": BOT_USER_ID}
        }
        self.oauth_client: tuple[str, str] | None = None
        self.codes: dict[str, Install] = {}
        self.installs: deque[Install] = deque()
        self.denied_installs = 0
        self.org_teams: dict[str, list[str]] = {}  # enterprise id -> the workspaces an org install was added to
        self.rotating = False
        self.expires_in = 43200  # seconds a rotating token lives (Slack: 12 hours)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> the bot token it replaces
        self._tokens_issued = itertools.count(1)
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._drops: dict[str, int] = defaultdict(int)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._changes = 0  # the number of the latest change to any message
        self._versions: dict[tuple[str, str | None], int] = {}  # (channel, ts or None) -> its latest change
        self._watched: dict[str, threading.Condition] = {}  # channel -> notified on its changes (on _lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- lifecycle ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "r") -> str:
        return f"{self.base_url}/response/{key}"

    def message_response_url(self, user: str, channel: str, ts: str, issued: float | None = None) -> str:
        """The response_url Slack puts in a click on the message (channel, ts), issued now (epoch seconds)."""
        return message_response_url(self.base_url, user, (channel, ts), issued)

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting -----------------------------------------------------------------
    def fail(
        self,
        method: str,
        status: int = 500,
        times: int = 1,
        error: str = "internal_error",
        retry_after: int | None = None,
        after: int = 0,
        **fields: Any,
    ) -> None:
        """The next ``times`` calls of ``method`` (after ``after`` that succeed) answer with this failure.

        ``fields`` go into the error body, as Slack's ``needed`` and ``provided`` with ``missing_scope``.
        """
        body = {"ok": False, "error": "ratelimited" if status == 429 else error, **fields}
        self._failures[method].append(Failure(status, body, times, retry_after, after))

    def drop(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are carried out, but the connection closes before the reply.

        What a client sees when Slack posted the message and the answer was lost, or when the
        process that asked died before reading it: the work is done, the caller never learns its ts.
        """
        self._drops[method] += times

    def gate(self, method: str, parties: int, batches: int = 1, timeout: float = 10.0) -> None:
        """The next ``batches`` × ``parties`` calls of ``method`` are answered ``parties`` at a time, each
        call waiting for the others of its batch: processes started at once then make the calls after
        it side by side (two schedulers: each channel's members read together, and what they do with
        them collides in the database). A batch whose others never come goes on after ``timeout``."""
        self.gates[method] = Gate(threading.Barrier(parties, timeout=timeout), parties * batches)

    def _pass_gate(self, method: str) -> None:
        with self._lock:
            gate = self.gates.get(method)
            if gate is None:
                return
            gate.remaining -= 1
            if gate.remaining <= 0:  # the last one in: later calls go straight through
                del self.gates[method]
        with contextlib.suppress(threading.BrokenBarrierError):  # the others never came: answer anyway
            gate.barrier.wait()

    def limit(self, method: str, per_second: float, burst: int = 1) -> None:
        """Emulate Slack's rate limit for a method: 429 + Retry-After beyond it."""
        self.rate_limits[method] = RateLimit(per_second, burst, tokens=float(burst))

    def without_scope(self, scope: str) -> None:
        """The app was installed without ``scope``: the methods needing it answer ``missing_scope``."""
        self.missing_scopes.add(scope)

    def add_channel(self, channel: str, members: list[str], is_member: bool = True, name: str = "team") -> None:
        self.channels[channel] = {"name": name, "is_member": is_member, "is_private": channel.startswith("G")}
        self.channel_members[channel] = list(members)

    def add_user(
        self, user_id: str, tz: str = "UTC", deleted: bool = False, is_bot: bool = False, **extra: Any
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "deleted": deleted,
            "is_bot": is_bot,
            "tz": tz,
            # users.info's roles: `/compass questions` lets admins and owners change the bank.
            "is_admin": False,
            "is_owner": False,
            **extra,
        }

    def share_file(self, user: str, name: str, data: bytes, filetype: str = "json") -> dict[str, Any]:
        """A file a person shared in the app's DM, as the message event and files.info describe it;
        its bytes are served at url_private_download to a request with a bot token."""
        file_id = f"F{next(self._ts):010d}"
        base = f"{self.base_url}/files-pri/{TEAM_ID}-{file_id}"
        found = {
            "id": file_id,
            "name": name,
            "title": name,
            "filetype": filetype,
            "mimetype": "application/json" if filetype == "json" else "application/octet-stream",
            "size": len(data),
            "user": user,
            "url_private": f"{base}/{name}",
            "url_private_download": f"{base}/download/{name}",
        }
        with self._lock:
            self.shared_files[file_id] = (found, data)
        return found

    def download(self, path: str, token: str | None) -> tuple[int, bytes]:
        """GET of a shared file's url_private(_download): Slack wants a token of the workspace."""
        file_id = path.split("/")[2].rsplit("-", 1)[-1]
        with self._lock:
            self.calls.append(Call("download", {"file": file_id}, token, time.monotonic()))
            found = self.shared_files.get(file_id)
        if token not in self.tokens:
            return 403, b"not_authed"
        return (200, found[1]) if found else (404, b"file_not_found")

    def oauth_app(self, client_id: str, client_secret: str) -> None:
        """Answer Slack's OAuth for this app (authorize page, oauth.v2.access)."""
        self.oauth_client = (client_id, client_secret)

    def next_install(self, install: Install) -> None:
        """The workspace (or org) whose admin clicks Allow next on the authorize page."""
        self.installs.append(install)

    def deny_next_install(self) -> None:
        """The next person on the authorize page clicks Cancel."""
        self.denied_installs += 1

    def revoke(self, team_id: str) -> None:
        """The workspace's bot tokens stop working (an uninstall, as Slack sees it)."""
        with self._lock:
            for token in [t for t, who in self.tokens.items() if who["team_id"] == team_id]:
                del self.tokens[token]

    def token_of(self, team_id: str | None, enterprise_id: str | None = None) -> str:
        """The newest bot token issued to a workspace (or an org, team_id None)."""
        with self._lock:
            key = (team_id, enterprise_id)
            found = [t for t, w in self.tokens.items() if (w["team_id"], w["enterprise_id"]) == key]
        assert found, f"no token for {team_id or enterprise_id}"
        return found[-1]

    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth/v2/authorize"

    def authorize(self, query: dict[str, str]) -> str:
        """What the authorize page does once the person chose: the URL it redirects the browser to."""
        redirect = query.get("redirect_uri") or ""
        state = query.get("state")
        with self._lock:
            self.calls.append(Call("oauth/v2/authorize", dict(query), None, time.monotonic()))
            if self.oauth_client is None or query.get("client_id") != self.oauth_client[0]:
                return ""
            if self.denied_installs:
                self.denied_installs -= 1
                params = {"error": "access_denied", **({"state": state} if state else {})}
            else:
                install = self.installs.popleft() if self.installs else Install(f"T{next(self._ts):06d}")
                code = f"code-{uuid.uuid4().hex[:12]}"
                self.codes[code] = install
                params = {"code": code, **({"state": state} if state else {})}
        return f"{redirect}?{urlencode(params)}"

    def _oauth_access(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.oauth_client is None or (params.get("client_id"), params.get("client_secret")) != self.oauth_client:
            return {"ok": False, "error": "invalid_client_id"}
        if params.get("grant_type") == "refresh_token":
            old = self.refresh_tokens.pop(str(params.get("refresh_token")), None)
            if old is None or old not in self.tokens:
                return {"ok": False, "error": "invalid_refresh_token"}
            who = self.tokens.pop(old)
            token, refresh = self._issue(who)
            return {
                "ok": True,
                "access_token": token,
                "refresh_token": refresh,
                "expires_in": self.expires_in,
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": who["user_id"],
                "team": {"id": who["team_id"]} if who["team_id"] else None,
                "enterprise": {"id": who["enterprise_id"]} if who["enterprise_id"] else None,
            }
        install = self.codes.pop(str(params.get("code")), None)
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        who = {"team_id": install.team_id, "enterprise_id": install.enterprise_id, "org": install.org}
        who["user_id"] = f"U0BOT{(install.team_id or install.enterprise_id or '')[-4:]}"
        token, refresh = self._issue(who)
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": install.installer},
            "scope": "commands,chat:write,im:write,im:history,users:read,channels:read,groups:read,files:write",
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": who["user_id"],
            "team": None if install.org else {"id": install.team_id, "name": install.team_name},
            "enterprise": None,
            "is_enterprise_install": install.org,
        }
        if install.enterprise_id:
            answer["enterprise"] = {"id": install.enterprise_id, "name": install.enterprise_name or "Org"}
        if refresh:
            answer.update({"refresh_token": refresh, "expires_in": self.expires_in})
        return answer

    def _issue(self, who: dict[str, Any]) -> tuple[str, str | None]:
        n = next(self._tokens_issued)
        token = f"xoxb-{who['team_id'] or who['enterprise_id']}-{n}"
        if self.rotating:
            token = f"xoxe.{token}"
        self.tokens[token] = who
        refresh = f"xoxe-1-{n}-{uuid.uuid4().hex[:8]}" if self.rotating else None
        if refresh:
            self.refresh_tokens[refresh] = token
        return token, refresh

    # -- queries -------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    @property
    def files(self) -> list[Upload]:
        """The files shared so far (files.completeUploadExternal), in order."""
        with self._lock:
            return [u for u in self.uploads.values() if u.completed]

    def dm_messages(self, user_id: str) -> list[Message]:
        channel = f"D{user_id}"
        with self._lock:
            return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1])) if ch == channel]

    def ephemeral_messages(self, channel: str, user: str) -> list[Message]:
        with self._lock:
            return [m for m in self.ephemerals if m.channel == channel and m.user == user]

    def channel_messages(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for (ch, _), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1])) if ch == channel]

    def message_version(self, channel: str, ts: str | None = None) -> int:
        """The number of the last change to the message (channel, ts), or to any message of the channel
        when ``ts`` is None; 0 when there was none. Numbers only grow, across all messages."""
        with self._lock:
            return self._versions.get((channel, ts), 0)

    def wait_for_change(
        self, channel: str, ts: str | None = None, after_version: int = 0, timeout: float = 10.0
    ) -> int | None:
        """Wait until the message (channel, ts) (``ts`` None: any message of the channel) changes after
        ``after_version`` (a ``message_version`` read earlier); its new version, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._lock:
            watched = self._watched.setdefault(channel, threading.Condition(self._lock))
            while True:
                version = self._versions.get((channel, ts), 0)
                if version > after_version:
                    return version
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                watched.wait(remaining)

    def _changed(self, channel: str, ts: str) -> None:
        """A message was posted, updated, replaced or deleted (called holding ``_lock``)."""
        self._changes += 1
        self._versions[(channel, ts)] = self._versions[(channel, None)] = self._changes
        watched = self._watched.get(channel)
        if watched is not None:
            watched.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Poll until ``predicate()`` is truthy (listeners run after the ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {getattr(predicate, '__name__', predicate)}")

    def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no call has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)

    # -- behaviour ---------------------------------------------------------------
    def _validate_blocks(self, method: str, params: dict[str, Any]) -> None:
        try:
            if "blocks" in params:
                blocks = params["blocks"]
                if isinstance(blocks, str):
                    blocks = json.loads(blocks)
                if len(blocks) > 50:
                    raise ValueError(f"{len(blocks)} blocks in one message")
                for parsed in Block.parse_all(blocks):
                    if parsed is None:
                        raise ValueError("unknown block type")
                    parsed.to_dict()
                if not params.get("text"):
                    raise ValueError("message without fallback text")
            if "view" in params:
                view = params["view"]
                View(**(json.loads(view) if isinstance(view, str) else view)).to_dict()
        except Exception as exc:  # recorded, asserted empty by the tests
            self.block_errors.append(f"{method}: {exc}")

    def _bucket(self, key: str, workspace: str, per_minute: float, burst: int) -> RateLimit:
        bucket = self._budgets.get((key, workspace))
        if bucket is None:
            bucket = self._budgets[(key, workspace)] = RateLimit(per_minute / 60, burst, tokens=float(burst))
        return bucket

    def _rate_limited(self, method: str, params: dict[str, Any], token: str | None) -> int | None:
        """Spend the call from its budgets (the test's own limit, else Slack's tier); the Retry-After when over."""
        now = time.monotonic()
        own = self.rate_limits.get(method)
        if own is not None:
            return own.take(now)
        if method in UNLIMITED:
            return None
        if method not in TIERS:
            self.block_errors.append(f"{method}: no rate tier known for this method (add it to TIERS)")
            return None
        who = self.tokens.get(token or "")
        workspace = str(who["team_id"] or who["enterprise_id"]) if who else f"token:{token}"
        if method == "chat.postMessage":
            per_second, burst = POST_PER_CHANNEL
            channel = str(params.get("channel"))
            wait = self._bucket(f"post:{channel}", workspace, per_second * 60, burst).take(now)
            if wait is not None:
                return wait
        per_minute = TIERS[method]
        return self._bucket(method, workspace, per_minute, per_minute).take(now)

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method in self.delay:
            time.sleep(self.delay[method])
        self._pass_gate(method)
        with self._lock:
            call = Call(method, params, token, time.monotonic())
            self.calls.append(call)
            retry = self._rate_limited(method, params, token)
            if retry is not None:
                self.rate_limited += 1
                self.limited_calls.append(call)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry)}
            queue = self._failures.get(method)
            if queue and queue[0].after > 0:
                queue[0].after -= 1
            elif queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.popleft()
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return failure.status, failure.body, headers
            scope = SCOPES.get(method)
            if scope in self.missing_scopes:
                return 200, {"ok": False, "error": "missing_scope", "needed": scope, "provided": "chat:write"}, {}
            if method == "oauth.v2.access":
                return 200, self._oauth_access(params), {}
            allowed = token == APP_TOKEN if method == "apps.connections.open" else token in self.tokens
            if not allowed and method != "api.test":
                error = "not_allowed_token_type" if token == APP_TOKEN or token in self.tokens else "invalid_auth"
                return 200, {"ok": False, "error": error}, {}
            self._validate_blocks(method, params)
            self._validate_metadata(method, params)
            return 200, self._answer(method, params, self.tokens.get(token or "")), {}

    def respond(self, path: str, params: dict[str, Any]) -> tuple[int, str]:
        """A POST to a response_url: (HTTP status, plain-text body), as Slack answers an incoming webhook."""
        with self._lock:
            self.calls.append(Call("response_url", params, None, time.monotonic()))
            queue = self._failures.get("response_url")
            if queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.popleft()
                return failure.status, str(failure.body.get("error"))
            bound = _bound_message(path)
            if bound is not None:
                self._response_uses[path] += 1
                user, where, issued = bound
                if time.time() - issued > RESPONSE_URL_LIFETIME:
                    return 404, "expired_url"
                if self._response_uses[path] > RESPONSE_URL_USES:
                    return 404, "used_url"
                if _flag(params.get("delete_original")):
                    if self.messages.pop(where, None) is not None:
                        self._changed(*where)
                    return 200, "ok"
                if _flag(params.get("replace_original")):
                    message = self.messages.get(where)
                    if message is None:  # an ephemeral message (its ts is not a message of the channel's)
                        self.responses.append(params)
                        self._validate_blocks("response_url", params)
                        return 200, "ok"
                    message.text = params.get("text", "")
                    message.blocks = _json_param(params.get("blocks")) or []
                    message.metadata = _json_param(params.get("metadata")) or None
                    message.updates += 1
                    self._changed(*where)
                    self._validate_blocks("response_url", params)
                    return 200, "ok"
                ts = f"{1700000000 + next(self._ts)}.000300"
                text, blocks = params.get("text", ""), _json_param(params.get("blocks")) or []
                self.ephemerals.append(Message(where[0], ts, text, blocks, user=user))
            self.responses.append(params)
        self._validate_blocks("response_url", params)
        return 200, "ok"

    def _dropping(self, method: str) -> bool:
        """Whether this call's reply is to be lost (see ``drop``)."""
        with self._lock:
            if self._drops.get(method, 0) <= 0:
                return False
            self._drops[method] -= 1
            return True

    def _validate_metadata(self, method: str, params: dict[str, Any]) -> None:
        metadata = _json_param(params.get("metadata"))
        if metadata in (None, {}):
            return
        if not isinstance(metadata, dict) or not isinstance(metadata.get("event_payload"), dict):
            self.block_errors.append(f"{method}: metadata needs an event_payload object: {metadata!r}")
        elif not METADATA_EVENT_TYPE.match(str(metadata.get("event_type", ""))):
            self.block_errors.append(f"{method}: invalid_metadata_schema (event_type {metadata.get('event_type')!r})")

    def _answer(self, method: str, params: dict[str, Any], who: dict[str, Any] | None = None) -> dict[str, Any]:
        if method == "auth.test":
            who = who or self.tokens[BOT_TOKEN]
            answer = {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Test",
                "user": "compass",
                "team_id": params.get("team_id") or who["team_id"] or "",
                "user_id": who["user_id"],
                "bot_id": "B0BOT",
            }
            if who["enterprise_id"]:
                answer.update({"enterprise_id": who["enterprise_id"], "is_enterprise_install": who["org"]})
            return answer
        if method == "auth.teams.list":
            if not who or not who["org"]:
                return {"ok": False, "error": "not_an_enterprise"}
            teams = self.org_teams.get(who["enterprise_id"], [])
            return {"ok": True, "teams": [{"id": t, "name": t} for t in teams]}
        if method == "apps.connections.open":
            if self.socket_url is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket_url}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{params.get('users')}"}}
        if method == "chat.postMessage":
            ts = f"{1700000000 + next(self._ts)}.000100"
            blocks = params.get("blocks") or []
            channel = str(params["channel"])
            if channel.startswith("U"):
                channel = f"D{channel}"
            elif channel.startswith(("C", "G")):
                info = self.channels.get(channel)
                if info is None:
                    return {"ok": False, "error": "channel_not_found"}
                if not info.get("is_member", True):
                    return {"ok": False, "error": "not_in_channel"}
            metadata = _json_param(params.get("metadata")) or None
            self.messages[(channel, ts)] = Message(
                channel, ts, params.get("text", ""), blocks, params.get("thread_ts"), metadata=metadata
            )
            self._changed(channel, ts)
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.postEphemeral":
            channel = str(params["channel"])
            info = self.channels.get(channel)
            if channel.startswith(("C", "G")):
                if info is None:
                    return {"ok": False, "error": "channel_not_found"}
                if not info.get("is_member", True):
                    return {"ok": False, "error": "not_in_channel"}
                if str(params.get("user")) not in self.channel_members.get(channel, []):
                    return {"ok": False, "error": "user_not_in_channel"}
            ts = f"{1700000000 + next(self._ts)}.000200"
            self.ephemerals.append(
                Message(channel, ts, params.get("text", ""), params.get("blocks") or [], user=str(params.get("user")))
            )
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            key = (str(params["channel"]), str(params["ts"]))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            message = self.messages[key]
            message.text = params.get("text", "")
            message.blocks = params.get("blocks") or []
            message.updates += 1
            if "metadata" in params:  # left out, the message keeps its metadata; {} removes it
                message.metadata = _json_param(params["metadata"]) or None
            self._changed(*key)
            return {"ok": True, "channel": key[0], "ts": key[1]}
        if method == "views.publish":
            view = params["view"]
            self.views[str(params["user_id"])] = json.loads(view) if isinstance(view, str) else view
            return {"ok": True, "view": {"id": "V1"}}
        if method == "files.info":
            found = self.shared_files.get(str(params.get("file")))
            return {"ok": True, "file": found[0]} if found else {"ok": False, "error": "file_not_found"}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.members":
            info = self.channels.get(str(params.get("channel")))
            if info is not None and not info.get("is_member", True):
                return {"ok": False, "error": "not_in_channel"}
            return self._members(params)
        if method == "users.list":
            users = list(self.users.values())
            start = int(params.get("cursor") or 0)
            size = int(params.get("limit") or 100)
            cursor = str(start + size) if start + size < len(users) else ""
            return {"ok": True, "members": users[start : start + size], "response_metadata": {"next_cursor": cursor}}
        if method == "conversations.history":
            return self._history(params)
        if method == "conversations.info":
            channel = str(params.get("channel"))
            info = self.channels.get(channel)
            if info is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": channel, **info}}
        if method == "files.getUploadURLExternal":
            return self._upload_url(params)
        if method == "files.completeUploadExternal":
            return self._complete_upload(params)
        return {"ok": True}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length") or "").isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        alt = params.get("alt_txt")
        if alt is not None and len(str(alt)) > MAX_ALT_TXT:
            return {"ok": False, "error": "alt_txt_too_large"}
        file_id = f"F{next(self._ts):010d}"
        self.uploads[file_id] = Upload(file_id, str(params["filename"]), int(params["length"]), alt)
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def receive_upload(self, file_id: str, data: bytes) -> int:
        """The POST of a file's bytes to its upload URL: the HTTP status Slack answers with."""
        with self._lock:
            self.calls.append(Call("upload", {"file_id": file_id, "bytes": len(data)}, None, time.monotonic()))
            upload = self.uploads.get(file_id)
            if upload is None or upload.data is not None or len(data) != upload.length:
                return 400
            upload.data = data
            return 200

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = _json_param(params.get("files")) or []
        found = [self.uploads.get(str(f.get("id"))) for f in files]
        if not found or any(u is None or u.data is None or u.completed for u in found):
            return {"ok": False, "error": "file_not_found"}
        channel = params.get("channel_id") or None
        if channel and str(channel).startswith(("C", "G")):
            info = self.channels.get(str(channel))
            if info is None:
                return {"ok": False, "error": "channel_not_found"}
            if not info.get("is_member", True):
                return {"ok": False, "error": "not_in_channel"}
        shared = []
        for f, upload in zip(files, found, strict=True):
            assert upload is not None
            upload.title = f.get("title") or upload.filename
            upload.channel_id, upload.completed = channel, True
            upload.initial_comment = params.get("initial_comment") or None
            upload.thread_ts = params.get("thread_ts") or None
            # Sharing completes asynchronously at Slack: the answer has no "shares" or mimetype yet.
            shared.append({"id": upload.id, "title": upload.title, "name": upload.filename, "alt_txt": upload.alt_txt})
        return {"ok": True, "files": shared}

    def _members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        if channel not in self.channel_members:
            return {"ok": False, "error": "channel_not_found"}
        members = self.channel_members[channel]
        start = int(params.get("cursor") or 0)
        size = int(params.get("limit") or 100)
        page = members[start : start + size]
        cursor = str(start + size) if start + size < len(members) else ""
        return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, as Slack returns it: only messages after ``oldest`` and before ``latest``,
        metadata only with ``include_all_metadata``. Every message in these DMs is the bot's."""
        channel = str(params.get("channel"))
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or "inf")
        limit = min(int(params.get("limit") or 100), 999)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = sorted(
            (m for (ch, ts), m in self.messages.items() if ch == channel and oldest < float(ts) < latest),
            key=lambda m: float(m.ts),
            reverse=True,
        )
        messages = []
        for m in found[:limit]:
            item: dict[str, Any] = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "app_id": APP_ID,
                "team": TEAM_ID,
                "text": m.text,
                "ts": m.ts,
                "blocks": m.blocks,
            }
            if with_metadata and m.metadata:
                item["metadata"] = m.metadata
            messages.append(item)
        return {"ok": True, "messages": messages, "has_more": len(found) > limit, "pin_count": 0}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _params(self) -> dict[str, Any]:
                url = urlparse(self.path)
                params: dict[str, Any] = dict(parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if raw.startswith("{"):
                    params.update(json.loads(raw))
                elif raw:
                    params.update(dict(parse_qsl(raw)))
                return params

            def _upload(self, file_id: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status = fake.receive_upload(file_id, self.rfile.read(length) if length else b"")
                data = (f"OK - {length}" if status == 200 else "bad upload").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self) -> None:
                url = urlparse(self.path)
                if url.path.startswith("/upload/v1/") and self.command == "POST":
                    self._upload(url.path.rsplit("/", 1)[1])
                    return
                if url.path.startswith("/files-pri/"):
                    auth = self.headers.get("Authorization", "")
                    status, data = fake.download(url.path, auth.removeprefix("Bearer ") if auth else None)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                params = self._params()
                if url.path.startswith("/response/"):
                    status, text = fake.respond(url.path, params)
                    if fake._dropping("response_url"):
                        self.close_connection = True
                        return
                    data = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if url.path == "/oauth/v2/authorize":
                    target = fake.authorize(dict(parse_qsl(url.query)))
                    if not target:
                        self._reply(400, {"ok": False, "error": "invalid_client_id"}, {})
                        return
                    page = f'<html><body><a href="{target}">Allow</a></body></html>'.encode()
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                if not url.path.startswith("/api/"):
                    self._reply(404, {"ok": False, "error": "unknown_path"}, {})
                    return
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
                if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
                    client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
                    params.update({"client_id": client_id, "client_secret": secret})
                    token = None
                method = url.path[len("/api/") :]
                try:
                    status, body, headers = fake.handle(method, params, token)
                except KeyError as missing:
                    # A client killed mid-request sends a cut-off body; Slack answers that so.
                    status, headers = 200, {}
                    body = {"ok": False, "error": "invalid_arguments", "missing": str(missing)}
                if fake._dropping(method):
                    self.close_connection = True  # no reply at all: the client sees the connection end
                    return
                self._reply(status, body, headers)

            do_GET = _dispatch
            do_POST = _dispatch

        return Handler


def message_response_url(base_url: str, user: str, where: tuple[str, str], issued: float | None = None) -> str:
    """A response_url as Slack puts one in a click on the message ``where`` (channel, ts): unique to the
    click; this fake reads the message, the person and the time it was issued back out of it."""
    channel, ts = where
    when = time.time() if issued is None else issued
    return f"{base_url}/response/msg/{user}/{channel}/{ts}/{when:.3f}/{uuid.uuid4().hex[:12]}"


def _bound_message(path: str) -> tuple[str, tuple[str, str], float] | None:
    parts = path.split("/")
    if len(parts) != 8 or parts[2] != "msg":
        return None
    _, _, _, user, channel, ts, issued, _ = parts
    return user, (channel, ts), float(issued)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _json_param(value: Any) -> Any:
    """A JSON argument as slack_sdk sends it: decoded in a JSON body, a string in a form or query."""
    return json.loads(value) if isinstance(value, str) else value
