"""`/compass questions` on the worker side: who may change the workspace's bank (Slack's admins and
owners, and COMPASS_BANK_ADMINS), the bank shown, a confirmed switch to a pack, and a bank file
shared in the app's DM (checked, previewed, applied on Apply)."""

from __future__ import annotations

import urllib.request
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import banks
from bot.app.banks import MAX_BANK_BYTES, bank_text
from bot.domain.questionnaire import QuestionnaireError
from bot.slack import ids
from bot.slack.blocks.banks import (
    build_bank_set_message,
    build_questions_message,
    build_upload_preview,
    build_upload_problems,
    who_can_change,
)
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.payloads import who_from
from bot.slack.routes import Request
from bot.slack.task import Task
from bot.slack.work import dm

DOWNLOAD_TIMEOUT = 10  # seconds for a shared bank file's bytes from Slack


def may_change_bank(client: WebClient, user: str, admins: frozenset[str]) -> bool:
    """Whether ``user`` may change the workspace's bank: named in COMPASS_BANK_ADMINS, or a
    workspace admin or owner as users.info says now (asked on each use: a demoted admin loses it)."""
    if user in admins:
        return True
    try:
        found = client.users_info(user=user).get("user") or {}
    except SlackApiError:
        return False
    return bool(found.get("is_admin") or found.get("is_owner"))


def questions_command(request: Request) -> Message:
    """`/compass questions`: the bank in use; a pack per button for those who may change it."""
    deps = request.task.deps
    can = may_change_bank(request.task.client, request.who.user, deps.bank_admins)
    view = banks.questions_view(deps.ctx, request.who.workspace)
    return build_questions_message(view, can_change=can, admins=deps.bank_admins)


def switch_bank(task: Task) -> None:
    """A confirmed pack button: switch if the bank is still the one shown, and say what happened in
    place of the message (a concurrent change is told, nothing changed)."""
    deps = task.deps
    who = who_from(task.body)
    pack, expected = ids.decode_bank_switch(task.action.get("value"))
    message: Message
    if not may_change_bank(task.client, who.user, deps.bank_admins):
        message = build_text_message(
            f"You cannot change this workspace's questions. {who_can_change(deps.bank_admins)}"
        )
    else:
        result = banks.switch_to_pack(
            deps.ctx, who.workspace, pack, by=who.user, now=deps.clock(), expected_version=expected
        )
        message = build_bank_set_message(result)
    if task.respond is not None:
        task.respond(replace_original=True, response_type="ephemeral", **message.as_kwargs())


def _fetch(client: WebClient, file_id: str) -> str:
    """A shared file's text: files.info, then its bytes from Slack with the bot token (Slack's
    url_private needs it). QuestionnaireError when it is too large (not downloaded) or not UTF-8."""
    info = client.files_info(file=file_id).get("file") or {}
    name = str(info.get("name") or file_id)
    size = int(info.get("size") or 0)
    if size > MAX_BANK_BYTES:
        return bank_text(b"", size, name)
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310 (Slack's own URL)
        data = response.read(MAX_BANK_BYTES + 1)
    return bank_text(data, None, name)


def _file_name(event: dict[str, Any], file_id: str) -> str:
    return next((str(f.get("name") or file_id) for f in event.get("files") or [] if f.get("id") == file_id), file_id)


def bank_file_shared(task: Task) -> None:
    """A file shared in the app's DM: checked as a question bank; every problem (with its JSON
    path) comes back, or a preview with Apply and Cancel. Nothing changes until Apply."""
    deps, client = task.deps, task.client
    event = task.body.get("event") or {}
    who = who_from(task.body)
    channel = str(event.get("channel") or "")
    shared = [f for f in event.get("files") or [] if f.get("id")]
    if not shared or not channel:
        return
    file_id = str(shared[0]["id"])
    if not may_change_bank(client, who.user, deps.bank_admins):
        dm.post(
            client,
            channel,
            build_text_message(f"Only some people can change the questions. {who_can_change(deps.bank_admins)}"),
        )
        return
    name = _file_name(event, file_id)
    try:
        preview = banks.preview(deps.ctx, who.workspace, banks.CUSTOM, _fetch(client, file_id))
    except QuestionnaireError as exc:
        dm.post(client, channel, build_upload_problems(name, exc.problems))
        return
    ref = ids.UploadRef(file_id, preview.bank.content_hash, preview.current.revision)
    dm.post(client, channel, build_upload_preview(preview, ref))


def apply_bank_file(task: Task) -> None:
    """Apply or Cancel under a previewed bank file; Apply fetches it again and applies it if it is
    still the bank previewed and the workspace still answers the bank it was previewed over."""
    deps = task.deps
    who = who_from(task.body)
    ref = ids.decode_bank_upload(task.action.get("value"))
    message: Message
    if task.action.get("action_id") == ids.Action.BANK_CANCEL:
        message = build_text_message("Cancelled: the questions were not changed.")
    elif not may_change_bank(task.client, who.user, deps.bank_admins):
        message = build_text_message(
            f"You cannot change this workspace's questions. {who_can_change(deps.bank_admins)}"
        )
    else:
        try:
            document = _fetch(task.client, ref.file_id)
            result = banks.set_bank(
                deps.ctx,
                who.workspace,
                banks.CUSTOM,
                document,
                by=who.user,
                now=deps.clock(),
                expected_version=ref.revision,
                content_hash=ref.content_hash,
            )
            message = build_bank_set_message(result)
        except QuestionnaireError as exc:
            message = build_upload_problems(ref.file_id, exc.problems)
    if task.respond is not None:
        task.respond(replace_original=True, response_type="ephemeral", **message.as_kwargs())
