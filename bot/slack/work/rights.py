"""A person's data on the worker side: `/compass export-me` (a JSON file in their DM) and the
confirmed `/compass forget-me` (everything deleted, then told what was)."""

from __future__ import annotations

import json

from slack_sdk.errors import SlackApiError

from bot.app import chat, rights
from bot.domain.rights import export_summary, personal_json
from bot.slack.blocks.common import Message
from bot.slack.blocks.rights import build_export_failed, build_export_sent, build_forgotten_message
from bot.slack.ids import Work
from bot.slack.payloads import who_from
from bot.slack.routes import Request
from bot.slack.task import Task
from bot.slack.uploads import FileToShare, upload_file
from bot.slack.work import dm
from bot.slack.work.delivery import Delivery, deliver


def export_me(request: Request) -> Message:
    """Upload everything kept about the person into their DM; the one-line reply says what, or why not."""
    task, who = request.task, request.who
    deps = task.deps
    now = deps.clock()
    found = rights.export_person(deps.ctx, who)
    document = json.dumps(personal_json(found, now), indent=2, ensure_ascii=False) + "\n"
    try:
        channel = dm.open_dm(task.client, who.user)
    except SlackApiError as exc:
        return build_export_failed(str(exc.response.get("error") or exc.response.status_code))
    uploaded = upload_file(
        task.client,
        FileToShare(
            document.encode("utf-8"),
            f"mlops-compass-my-data-{now:%Y-%m-%d}.json",
            "Your MLOps Compass data",
        ),
        channel,
        comment=f"Everything MLOps Compass keeps about you: {export_summary(found)}.",
        what="personal data export",
    )
    if uploaded.file_id is None:
        return build_export_failed(uploaded.error)
    return build_export_sent(export_summary(found))


def forget_me(task: Task) -> None:
    """The confirmed forget-me: delete everything about the person in one transaction, say what went
    (in place of the confirmation), and show App Home without it. A repeat deletes nothing and says so."""
    deps, client = task.deps, task.client
    who = who_from(task.body)
    deleted = rights.forget_person(deps.ctx.sessions, who, deps.clock())
    message = build_forgotten_message(deleted)
    if task.respond is not None:
        task.respond(replace_original=True, response_type="ephemeral", **message.as_kwargs())
    else:
        dm.post(client, dm.open_dm(client, who.user), message)
    if not deleted.nothing:  # the tab still shows the old results until it is published again
        home = chat.open_home(deps.ctx, who, deps.clock(), None, deps.outreach)
        if home is not None:
            deliver(Delivery(client, task.body, deps, Work.FORGET), [dm.home_step(home, who, deps)])
