"""Sending what one interaction shows, in order, within Slack's per-method budgets.

A handler renders its use case's view into ``Step``s and hands them to ``deliver``. Two rules keep
a whole team inside Slack's budgets (docs/slack-budgets.md):

- The clicked message is replaced through the click's own ``response_url`` with
  ``replace_original``. Slack documents that URL as usable 5 times within 30 minutes of the click and
  outside the Web API's per-method tiers, so an answer spends no Tier 3 ``chat.update``; that is the
  fallback only when the URL is spent, expired or refused.
- A call answered HTTP 429 is never waited out in the worker thread: that would hold the thread,
  and with it every other workspace's work, for Retry-After. The steps not yet done go back to the
  queue as the rest of the same job (``Later``: the same row, so the person's later clicks still
  wait behind it), due after Retry-After; the person sees no error and nothing is lost. The 429 is
  remembered per workspace and method (``Budgets``) so that the next step needing that method in
  that workspace waits without spending another call; other workspaces and methods go on.

Steps are plain data so that the rest of a job can be stored as JSON; a chart is drawn before
it is stored.
"""

from __future__ import annotations

import atexit
import base64
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.app import chat
from bot.app.types import Who
from bot.charts.data import Chart
from bot.queue.worker import Later
from bot.slack import ids
from bot.slack.blocks.assessment import MOVED, build_closed_message
from bot.slack.deps import Deps
from bot.slack.ids import Work
from bot.slack.payloads import who_from
from bot.slack.uploads import FileToShare, upload_file

log = logging.getLogger(__name__)

RESPONSE_URL_LIFETIME = timedelta(minutes=29)  # Slack: 30 minutes from the click; a minute to spare
HISTORY_LOOKBACK = 10  # the DM's latest messages searched for a question posted but never recorded
# What a deferred job keeps beside the request body: its remaining steps, the DM it learned, and
# whether the click's response_url was found spent.
STEPS_KEY = "compass_steps"
DM_KEY = "compass_dm"
URL_SPENT_KEY = "compass_url_spent"

Kwargs = dict[str, Any]  # a message as chat.postMessage takes it: text, blocks, metadata


@dataclass(frozen=True)
class Replace:
    """The clicked message becomes ``message``."""

    channel: str
    ts: str
    message: Kwargs


@dataclass(frozen=True)
class Update:
    """Another message of the bot's becomes ``message`` (chat.update)."""

    channel: str
    ts: str
    message: Kwargs


@dataclass(frozen=True)
class Post:
    """A new message; ``channel`` may be a user id (the bot's DM with them)."""

    channel: str
    message: Kwargs


@dataclass(frozen=True)
class PostQuestion:
    """A question message at the end of the person's DM that becomes the assessment's live message
    (the one before it is emptied). With ``look_first`` the DM's last messages are searched for this
    assessment's question posted but never recorded (a crash, a lost reply), which is taken over
    instead of posting a second one."""

    user: str
    assessment_id: int
    message: Kwargs
    look_first: bool = False
    dm_channel: str | None = None  # the DM, when known
    recorded_ts: str | None = None  # the live message the database knows: only newer ones are looked for


@dataclass(frozen=True)
class Publish:
    """App Home (views.publish)."""

    user: str
    view: Kwargs


@dataclass(frozen=True)
class Upload:
    """A chart into ``channel`` (None: the DM this delivery last posted in), best-effort: a failure is
    logged and the delivery goes on. ``png`` is drawn by ``draw`` when first needed."""

    comment: str
    channel: str | None = None
    thread_ts: str | None = None
    filename: str = "chart.png"
    title: str = ""
    alt_text: str | None = None
    png: bytes | None = None
    draw: Callable[[], Chart | None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Reply:
    """A reply only the person sees, through the request's response_url."""

    message: Kwargs


Step = Replace | Update | Post | PostQuestion | Publish | Upload | Reply


class Budgets:
    """Which (workspace, method) Slack has asked to wait, and until when (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def wait_for(self, workspace: str, methods: Sequence[str]) -> float:
        """Seconds until every one of ``methods`` may be called again in ``workspace`` (0: now)."""
        now = self._clock()
        with self._lock:
            return max((self._until.get((workspace, m), now) - now for m in methods), default=0.0)

    def spent(self, workspace: str, method: str, retry_after: float) -> None:
        with self._lock:
            self._until[(workspace, method)] = max(
                self._until.get((workspace, method), 0.0), self._clock() + retry_after
            )


BUDGETS = Budgets()  # one per worker process: what Slack has said about each workspace's budgets


@dataclass
class Delivery:
    """One job's sending: the client of its workspace, the request (its response_url, who), the deps."""

    client: WebClient
    body: dict[str, Any]
    deps: Deps
    kind: Work
    budgets: Budgets = BUDGETS
    dm_channel: str | None = None  # learned from the first post into the person's DM

    @property
    def workspace(self) -> str:
        return str(self.client.default_params.get("team_id") or _team_of(self.body) or "")

    @property
    def who(self) -> Who:
        return who_from(self.body)


def _team_of(body: dict[str, Any]) -> str | None:
    team = body.get("team")
    return body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)


def methods_of(step: Step, delivery: Delivery) -> tuple[str, ...]:
    """The Web API methods a step will call (a response_url is outside the tiers)."""
    if isinstance(step, Replace):
        return () if _response_url(delivery) else ("chat.update",)
    if isinstance(step, Update):
        return ("chat.update",)
    if isinstance(step, Post):
        return ("chat.postMessage",)
    if isinstance(step, PostQuestion):
        return ("chat.postMessage", "conversations.history") if step.look_first else ("chat.postMessage",)
    if isinstance(step, Publish):
        return ("views.publish",)
    if isinstance(step, Upload):  # drawn and uploaded in the chart lane, which waits out its own 429s
        return () if step.channel or delivery.dm_channel else ("conversations.open",)
    return ()


def deliver(delivery: Delivery, steps: Sequence[Step]) -> None:
    """Send ``steps`` in order. Raises ``Later`` with the rest of the job when Slack asks to wait."""
    pending = list(steps)
    while pending:
        step = pending[0]
        wait = delivery.budgets.wait_for(delivery.workspace, methods_of(step, delivery))
        if wait > 0:
            raise _later(delivery, pending, wait)
        try:
            follow_up = _send(delivery, step)
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                raise
            retry_after = float(exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after") or 1)
            method = _method_of(exc)
            delivery.budgets.spent(delivery.workspace, method, retry_after)
            log.info(
                "%s in %s is over Slack's budget; the rest of this %s waits %.0f s",
                method,
                delivery.workspace,
                delivery.kind.value,
                retry_after,
            )
            raise _later(delivery, pending, retry_after) from None
        pending = [*follow_up, *pending[1:]]


def _method_of(exc: SlackApiError) -> str:
    url = str(getattr(exc.response, "api_url", "") or "")
    return url.rstrip("/").rsplit("/", 1)[-1] or "unknown"


def _later(delivery: Delivery, pending: list[Step], seconds: float) -> Later:
    body = {k: v for k, v in delivery.body.items() if k != STEPS_KEY}
    body[STEPS_KEY] = [to_json(step) for step in pending]
    if delivery.dm_channel:
        body[DM_KEY] = delivery.dm_channel
    until = delivery.deps.clock() + timedelta(seconds=seconds)
    return Later(until=until, kind=Work.DELIVER.value, payload=body)


def _response_url(delivery: Delivery) -> str | None:
    """The click's response_url while Slack still takes it (30 minutes from the click)."""
    url = delivery.body.get("response_url")
    if not url or delivery.body.get(URL_SPENT_KEY):
        return None
    issued = _issued_at(delivery.body)
    if issued is not None and delivery.deps.clock() - issued > RESPONSE_URL_LIFETIME:
        return None
    return str(url)


def _issued_at(body: dict[str, Any]) -> datetime | None:
    action_ts = next((a.get("action_ts") for a in body.get("actions") or [] if a.get("action_ts")), None)
    if action_ts is None:
        return None
    return datetime.fromtimestamp(float(action_ts), UTC)


def _send(delivery: Delivery, step: Step) -> list[Step]:
    """Send one step; returns steps to send next (before the rest)."""
    client = delivery.client
    if isinstance(step, Replace):
        if not _replaced(delivery, step):
            client.chat_update(channel=step.channel, ts=step.ts, **step.message)
        delivery.dm_channel = delivery.dm_channel or (step.channel if step.channel.startswith("D") else None)
        return []
    if isinstance(step, Update):
        try:
            client.chat_update(channel=step.channel, ts=step.ts, **step.message)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise
            # Its buttons are refused anyway (the use cases check the live message).
            log.warning("could not empty message %s: %s", step.ts, exc.response.get("error"))
        return []
    if isinstance(step, Post):
        channel = delivery.dm_channel if step.channel.startswith("U") and delivery.dm_channel else step.channel
        response = client.chat_postMessage(channel=channel, **step.message)
        if str(response.get("channel", "")).startswith("D"):
            delivery.dm_channel = str(response["channel"])
        return []
    if isinstance(step, PostQuestion):
        return _post_question(delivery, step)
    if isinstance(step, Publish):
        client.views_publish(user_id=step.user, view=step.view)
        return []
    if isinstance(step, Upload):
        _upload(delivery, step)
        return []
    _reply(delivery, step)
    return []


def _replaced(delivery: Delivery, step: Replace) -> bool:
    """Replace the clicked message through the click's response_url; False when that is not possible."""
    url = _response_url(delivery)
    if url is None:
        return False
    try:
        response = WebhookClient(url, timeout=10).send_dict({**step.message, "replace_original": True})
    except OSError as exc:
        log.info("the response_url was out of reach (%s); updating the message instead", exc)
        return False
    if response.status_code == 200:
        return True
    # Spent (5 uses), expired, or refused: chat.update does the same, from the Tier 3 budget.
    log.info("the response_url answered %s %s; updating the message instead", response.status_code, response.body)
    delivery.body[URL_SPENT_KEY] = True
    return False


def _reply(delivery: Delivery, step: Reply) -> None:
    url = delivery.body.get("response_url")
    if not url:
        return
    response = WebhookClient(str(url), timeout=10).send_dict(
        {**step.message, "response_type": "ephemeral", "replace_original": False}
    )
    if response.status_code != 200:
        log.warning("a reply through the response_url was refused: %s %s", response.status_code, response.body)


def _post_question(delivery: Delivery, step: PostQuestion) -> list[Step]:
    client = delivery.client
    found: list[str] = []
    channel = step.dm_channel or delivery.dm_channel
    if step.look_first:
        channel = channel or _open_dm(client, step.user)
        oldest = step.recorded_ts if step.dm_channel == channel else None
        found = _unrecorded_questions(client, (channel, oldest), step.assessment_id)
    if found:
        newest, *older = found
        assert channel is not None
        client.chat_update(channel=channel, ts=newest, **step.message)
        where = (channel, newest)
        steps: list[Step] = [Update(channel, ts, build_closed_message(MOVED).as_kwargs()) for ts in older]
    else:
        response = client.chat_postMessage(channel=channel or step.user, **step.message)
        where = (str(response["channel"]), str(response["ts"]))
        steps = []
    delivery.dm_channel = where[0]
    previous = chat.question_posted(delivery.deps.ctx, delivery.who, step.assessment_id, where)
    if previous is not None:
        steps.append(Update(*previous, build_closed_message(MOVED).as_kwargs()))
    return steps


def _open_dm(client: WebClient, user: str) -> str:
    """The DM's channel id (conversations.open, Tier 3: only when it was never learned from a post)."""
    return str(client.conversations_open(users=user)["channel"]["id"])


_history_refused = threading.Event()  # set once Slack refused conversations.history (missing im:history)


def _unrecorded_questions(client: WebClient, after: tuple[str, str | None], assessment_id: int) -> list[str]:
    """ts of this assessment's question messages in the DM ``after`` (channel, the recorded message's ts;
    among the DM's last few when none is recorded), newest first: posts whose ts never reached the
    database (the worker died between chat.postMessage and recording it, or the reply was lost on the
    way). Empty when Slack refuses to show the history (no im:history; logged once)."""
    channel, oldest = after
    try:
        response = client.conversations_history(
            channel=channel, limit=HISTORY_LOOKBACK, oldest=oldest, include_all_metadata=True
        )
    except SlackApiError as exc:
        if exc.response.get("error") != "missing_scope":
            raise
        level = logging.DEBUG if _history_refused.is_set() else logging.WARNING
        _history_refused.set()
        log.log(
            level,
            "cannot read the DM history (%s; add the im:history bot scope and reinstall the app): a question "
            "posted but never recorded may stay in a DM beside the new one, its buttons out of date",
            exc.response.get("error"),
        )
        return []
    messages = response.get("messages") or []
    return [str(m["ts"]) for m in messages if ids.assessment_of(m.get("metadata")) == assessment_id]


def _upload(delivery: Delivery, step: Upload) -> None:
    channel = step.channel or delivery.dm_channel or _open_dm(delivery.client, delivery.who.user)
    CHARTS.put(delivery.client, replace(step, channel=channel))


class ChartLane:
    """Charts drawn and uploaded one at a time, on a thread of their own.

    A job hands its chart over and is done: drawing takes a few hundred milliseconds, and a worker
    thread waiting for it would be a slot no click can use (a team finishing together used to fill
    every slot with pictures while the last answers waited). Charts stay best-effort, as they always
    were: a failure is logged, never retried into a second chart; a 429 waits here for Retry-After
    (at most ``RETRIES`` times), holding up only the charts behind it; what is still waiting when the
    process stops is drawn for at most ``CLOSE_TIMEOUT`` seconds, then given up (logged).
    """

    RETRIES = 3
    CLOSE_TIMEOUT = 10.0

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._waiting: queue.SimpleQueue[tuple[WebClient, Upload] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sleep = sleep
        self._pending = 0
        self.idle = threading.Event()  # set while no chart waits (tests wait for it)
        self.idle.set()

    def put(self, client: WebClient, step: Upload) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="compass-charts", daemon=True)
                self._thread.start()
                atexit.register(self.close)
            self._pending += 1
            self.idle.clear()
            self._waiting.put((client, step))

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._waiting.put(None)
            thread.join(self.CLOSE_TIMEOUT)
            if thread.is_alive():
                log.warning("charts still waiting to be drawn were given up at shutdown")

    def _run(self) -> None:
        while True:
            item = self._waiting.get()
            if item is None:
                return
            try:
                self._share(*item)
            except Exception:  # a chart never costs anything but itself
                log.exception("could not share a chart")
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self.idle.set()

    def _share(self, client: WebClient, step: Upload) -> None:
        step = drawn(step)
        if step.png is None or step.channel is None:
            return
        file = FileToShare(step.png, step.filename, step.title, step.alt_text)
        for attempt in range(self.RETRIES + 1):
            try:
                upload_file(client, file, step.channel, comment=step.comment, thread_ts=step.thread_ts, what="chart")
                return
            except SlackApiError as exc:  # only a 429 reaches here (upload_file logs the rest)
                if attempt == self.RETRIES:
                    log.warning("a chart for %s was given up: Slack kept answering 429", step.channel)
                    return
                self._sleep(float(exc.response.headers.get("Retry-After") or 1))


CHARTS = ChartLane()


def drawn(step: Upload) -> Upload:
    """The step with its chart drawn (unchanged when it was drawn already, or drawing failed: logged)."""
    if step.png is not None or step.draw is None:
        return step
    chart = step.draw()
    if chart is None:
        return replace(step, draw=None)
    return replace(step, png=chart.png, filename=chart.filename, title=chart.title, alt_text=chart.alt_text, draw=None)


# -- the rest of a job as JSON -------------------------------------------------------------------------

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (Replace, Update, Post, PostQuestion, Publish, Upload, Reply)
}


def to_json(step: Step) -> dict[str, Any]:
    if isinstance(step, Upload):
        step = drawn(step)
        fields = {
            "comment": step.comment,
            "channel": step.channel,
            "thread_ts": step.thread_ts,
            "filename": step.filename,
            "title": step.title,
            "alt_text": step.alt_text,
            "png": None if step.png is None else base64.b64encode(step.png).decode(),
        }
        return {"step": "Upload", **fields}
    return {"step": type(step).__name__, **{k: v for k, v in vars(step).items()}}


def from_json(data: dict[str, Any]) -> Step:
    fields = {k: v for k, v in data.items() if k != "step"}
    if data["step"] == "Upload" and fields.get("png") is not None:
        fields["png"] = base64.b64decode(fields["png"])
    step: Step = _TYPES[data["step"]](**fields)
    return step
