"""`/compass questions`: the workspace's question bank, a button per pack (with Slack's confirm
dialog naming what happens to unfinished assessments), and the outcome of a switch."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, ConfirmObject

from bot.app.banks import BankConflict, BankPreview, BankSet, BankSummary, QuestionsView
from bot.domain.questionnaire import Problem
from bot.slack import ids
from bot.slack.blocks.common import Message, build_text_message, button, clip, context, section
from bot.slack.ids import Action

MAX_CONFIRM_TEXT = 300  # Slack's limit on a confirm dialog's text


def _bank_text(summary: BankSummary) -> str:
    dims = ", ".join(f"{d.name} ({d.questions})" for d in summary.dimensions)
    return (
        f"*{summary.name}*, version {summary.version}: {summary.questions} questions "
        f"(about {summary.minutes} minutes) in {len(summary.dimensions)} dimensions: {dims}."
    )


def _set_text(summary: BankSummary) -> str:
    if summary.set_by is None or summary.set_at is None:
        return "The deployment's default bank: no one chose another for this workspace."
    who = summary.set_by if summary.set_by.startswith("cli:") else f"<@{summary.set_by}>"
    return f"Chosen by {who} on {summary.set_at:%Y-%m-%d %H:%M} UTC."


def who_can_change(admins: frozenset[str]) -> str:
    named = "".join(f", <@{u}>" for u in sorted(admins))
    return f"The workspace's admins and owners{named} can change it with `/compass questions`."


def build_questions_message(view: QuestionsView, *, can_change: bool, admins: frozenset[str]) -> Message:
    """The bank in use; for those who may change it, a button per other pack (each confirming first)."""
    current = view.current.current
    text = f":ledger: This workspace answers {_bank_text(current)}"
    blocks: list[Block] = [section(text), context(_set_text(current))]
    if not can_change:
        blocks.append(context(who_can_change(admins)))
        return Message(text, tuple(blocks))
    if view.current.unfinished:
        blocks.append(context(f"{view.current.unfinished} assessment(s) in this workspace are unfinished."))
    if not view.choices:
        blocks.append(context("No other pack is installed."))
        return Message(text, tuple(blocks))
    elements = []
    for choice in view.choices:
        switch = button(
            f"Switch to {choice.bank.name} ({choice.bank.questions} questions, ~{choice.bank.minutes} min)",
            f"{Action.BANK_SWITCH}_{choice.bank.name}",
            ids.encode_bank_switch(choice.bank.name, current.revision),
        )
        switch.confirm = ConfirmObject(
            title=f"Switch to {choice.bank.name}?",
            text=clip(choice.consequence, MAX_CONFIRM_TEXT),
            confirm="Switch",
            deny="Keep the current bank",
        )
        elements.append(switch)
    blocks.append(ActionsBlock(elements=elements, block_id="bank_packs"))
    return Message(text, tuple(blocks))


def build_bank_set_message(result: BankSet | BankConflict) -> Message:
    """What a switch did, or who changed the bank first (nothing was changed then)."""
    if isinstance(result, BankConflict):
        first = result.current
        who = f"<@{first.set_by}>" if first.set_by and not first.set_by.startswith("cli:") else first.set_by
        return build_text_message(
            f"Nothing was changed: {who or 'someone'} changed the bank first; it is now {_bank_text(first)} "
            "Run `/compass questions` again to choose."
        )
    people = (
        f" {result.unfinished} unfinished assessment(s) carry over the answers to questions both banks share "
        "on their next click."
        if result.unfinished
        else ""
    )
    return build_text_message(
        f":white_check_mark: This workspace now answers {_bank_text(result.bank)} (was {result.previous.name}).{people}"
    )


MAX_PROBLEMS_SHOWN = 20  # a section holds 3000 characters; the rest are counted
MAX_PROBLEM_TEXT = 120


def build_upload_problems(filename: str, problems: Sequence[Problem]) -> Message:
    """A shared bank file that cannot be used: each problem with its JSON path; nothing changed."""
    shown = [f"• `{clip(p.path, 60)}`: {clip(p.message, MAX_PROBLEM_TEXT)}" for p in problems[:MAX_PROBLEMS_SHOWN]]
    more = len(problems) - len(shown)
    if more > 0:
        shown.append(f"…and {more} more: `compass questions check FILE` lists them all.")
    text = f":x: *{clip(filename, 80)}* is not a valid question bank ({len(problems)} problem(s)); nothing was changed."
    return Message(text, (section(text), section("\n".join(shown))))


def build_upload_preview(preview: BankPreview, ref: ids.UploadRef) -> Message:
    """A valid shared bank: what it is, what applying it does, and Apply / Cancel."""
    text = f":ledger: This file is a valid bank: {_bank_text(preview.bank)}"
    blocks: list[Block] = [
        section(text),
        context(f"In use now: {_bank_text(preview.current)}"),
        section(preview.consequence),
        ActionsBlock(
            elements=[
                button(
                    "Apply to this workspace",
                    Action.BANK_APPLY,
                    ids.encode_bank_upload(ref.file_id, ref.content_hash, ref.revision),
                    "primary",
                ),
                button(
                    "Cancel", Action.BANK_CANCEL, ids.encode_bank_upload(ref.file_id, ref.content_hash, ref.revision)
                ),
            ],
            block_id="bank_upload",
        ),
    ]
    return Message(text, tuple(blocks))
