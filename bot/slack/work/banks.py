"""`/compass questions` on the worker side: who may change the workspace's bank (Slack's admins and
owners, and COMPASS_BANK_ADMINS), the bank shown, and a confirmed switch to a pack."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import banks
from bot.slack import ids
from bot.slack.blocks.banks import build_bank_set_message, build_questions_message, who_can_change
from bot.slack.blocks.common import Message, build_text_message
from bot.slack.payloads import who_from
from bot.slack.routes import Request
from bot.slack.task import Task


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
