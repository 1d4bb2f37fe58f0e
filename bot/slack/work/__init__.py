"""The worker-side handlers: what each queued Slack request does once a worker leases it.

The queue (bot/queue/) hands a handler the request body; ``handlers`` binds each
function here to the Web API client and the dependencies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import installs
from bot.queue import outbox, worker
from bot.slack import ids
from bot.slack.deps import Deps
from bot.slack.errors import handle_error
from bot.slack.ids import Action, Work
from bot.slack.routes import Button, Routes
from bot.slack.task import Handler, Task, respond_for
from bot.slack.tokens import TokenSource, tenant_of
from bot.slack.work import assessment, banks, commands, home, rights, session, team

log = logging.getLogger(__name__)


def report_failure(error: Exception, body: dict[str, Any]) -> None:
    """A queued request failed: tell the person, through the central error handler."""
    handle_error(error, body, respond_for(body), log)


def report_lost(error: Exception, entries: list[outbox.Entry]) -> None:
    """Requests that were acked but could not be queued: tell each person."""
    for _, _, body in entries:
        report_failure(error, body)


# Every button: the action ids it matches, the kind of work its click queues, the handler doing it.
# One line adds a button (its id is in bot/slack/ids.py, where its builder shows it).
BUTTONS: tuple[Button, ...] = (
    Button(ids.ANSWER_PATTERN, Work.ANSWER, assessment.answer),
    Button(Action.NOT_APPLICABLE, Work.ANSWER, assessment.answer),
    Button(Action.BACK, Work.BACK, assessment.back),
    Button(Action.RESUME, Work.RESUME, assessment.resume),
    Button(Action.START_OVER, Work.START_OVER, assessment.start_over),
    Button(Action.START, Work.START, assessment.start),
    Button(Action.SNOOZE, Work.SNOOZE, assessment.snooze),
    Button(Action.TEAMS_NEXT, Work.TEAMS_PAGE, team.teams_page),
    Button(Action.TEAMS_PREVIOUS, Work.TEAMS_PAGE, team.teams_page),
    Button(Action.TEAMS_HEATMAP, Work.TEAMS_HEATMAP, team.teams_heatmap),
    Button(Action.FORGET_ME, Work.FORGET, rights.forget_me),
    Button(ids.SESSION_VOTE_PATTERN, Work.SESSION_VOTE, session.vote),
    Button(ids.SESSION_AGREE_PATTERN, Work.SESSION_STEP, session.facilitate),
    Button(Action.SESSION_REVEAL, Work.SESSION_STEP, session.facilitate),
    Button(Action.SESSION_NEXT, Work.SESSION_STEP, session.facilitate),
    Button(ids.SESSION_PICK_PATTERN, Work.SESSION_PICK, session.pick_dimension),
    Button(Action.SESSION_ADD_ACTION, Work.SESSION_ACTION_FORM, session.action_form),
    Button(Action.ACTION_DONE, Work.ACTION_DONE, session.action_done),
    Button(Action.SESSION_START, Work.SESSION_START, session.start_from_digest),
    Button(ids.BANK_SWITCH_PATTERN, Work.BANK_SWITCH, banks.switch_bank),
    Button(Action.BANK_APPLY, Work.BANK_APPLY, banks.apply_bank_file),
    Button(Action.BANK_CANCEL, Work.BANK_APPLY, banks.apply_bank_file),
)
# The work that comes from no button: a slash command, App Home opened, a deferred delivery.
OTHER_WORK: dict[Work, Handler] = {
    Work.COMMAND: commands.run_command,
    Work.HOME: home.publish_home,
    Work.DELIVER: assessment.finish_delivery,
    Work.SESSION_REFRESH: session.refresh,  # queued by a vote's use case, a few seconds later
    Work.SESSION_ACTION_SAVE: session.action_save,  # the action form submitted (bot/slack/listeners/views.py)
    Work.BANK_UPLOAD: banks.bank_file_shared,  # a file shared in the app's DM (bot/slack/listeners/files.py)
}
ROUTES = Routes(commands.SUBCOMMANDS, BUTTONS)


def work_for(action_id: str) -> Work:
    """The kind of work a click on ``action_id`` queues (KeyError for a button the app never sends)."""
    return ROUTES.work_for(action_id)


def work_handlers() -> dict[Work, Handler]:
    found = {**{b.kind: b.handler for b in BUTTONS}, **OTHER_WORK}
    assert set(found) == set(Work), "every kind of queued work needs a handler"
    return found


def handlers(
    client: WebClient | TokenSource, deps: Deps, table: Mapping[Work, Handler] | None = None
) -> dict[str, worker.Handler]:
    """The queue's handler table: each kind of work bound to the client (the one client, or the
    token of the workspace each request came from) and the dependencies."""

    def bind(kind: Work, handler: Handler) -> worker.Handler:
        def run(body: dict[str, Any]) -> None:
            if isinstance(client, WebClient):
                own = client
            else:
                tenant = tenant_of(body)
                own = client.client_for(tenant)
                if tenant.enterprise_id and tenant.team_id:  # the workspace's row records its organisation
                    installs.seen(deps.ctx.sessions, tenant.team_id, tenant.enterprise_id, deps.clock())
            try:
                handler(Task(body, own, deps, respond_for(body)))
            except SlackApiError as exc:
                if exc.response.status_code != 429:
                    raise
                # A call outside a delivery (a read before the use case: a channel's members, its
                # info) is over budget: the whole job waits for Retry-After and runs again.
                retry_after = float(exc.response.headers.get("Retry-After") or 1)
                raise worker.Later(deps.clock() + timedelta(seconds=retry_after), kind.value, body) from None

        return run

    return {kind.value: bind(kind, handler) for kind, handler in (table or work_handlers()).items()}
