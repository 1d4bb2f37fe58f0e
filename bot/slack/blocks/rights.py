"""A person's data: the `/compass forget-me` confirmation and its outcome, the `/compass export-me`
replies, and App Home's "About your data"."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block, ConfirmObject, DividerBlock

from bot.domain.digest import respondent_threshold
from bot.domain.flow import DEFAULT_EXPIRY
from bot.domain.rights import Deleted, deleted_summary
from bot.slack import ids
from bot.slack.blocks.common import Message, build_text_message, button, section
from bot.slack.ids import Action


@dataclass(frozen=True)
class DataPolicy:
    """What App Home tells people about their data: the settings in force."""

    min_respondents: int  # COMPASS_MIN_RESPONDENTS (never below the absolute minimum)
    retention_days: int  # COMPASS_RETENTION_DAYS


def _kept(days: int) -> str:
    return f"{days // 365} years" if days % 365 == 0 and days >= 730 else f"{days} days"


def build_forget_confirmation() -> Message:
    """The ephemeral answer to `/compass forget-me`: what goes, and a danger button with Slack's confirm dialog."""
    delete = button("Delete all my data", Action.FORGET_ME, ids.NO_REF, "danger")
    delete.confirm = ConfirmObject(
        title="Delete all your data?",
        text="Your assessments, answers, reports and preferences are deleted for good. This cannot be undone.",
        confirm="Delete",
        deny="Keep my data",
        style="danger",
    )
    text = (
        "*Delete everything MLOps Compass keeps about you?*\n"
        "Your assessments with every answer and report, your preferences (reminders, snooze), your entry in "
        "the app's directory, your membership of team digests, the invitations and reminders addressed to you "
        "and your votes in team sessions (the levels and actions your team agreed stay, without your name). "
        "Team digests already posted stay as they are (they hold only team averages); later ones no longer "
        "count you. `/compass export-me` first if you want a copy."
    )
    return Message(
        "Delete everything MLOps Compass keeps about you?",
        (section(text), ActionsBlock(elements=[delete], block_id=ids.Block.FORGET_CONFIRM)),
    )


def build_forgotten_message(deleted: Deleted) -> Message:
    if deleted.nothing:
        return build_text_message(
            ":white_check_mark: Nothing more to delete: MLOps Compass keeps no data about you (deleted 0 rows)."
        )
    return build_text_message(
        f":wastebasket: Deleted everything MLOps Compass kept about you: {deleted_summary(deleted)}. "
        "Team digests already posted are unchanged; later ones will not count you."
    )


def build_export_sent(summary: str) -> Message:
    return build_text_message(f":package: Sent you your data in a DM: {summary}.")


def build_export_failed(error: str | None) -> Message:
    if error == "missing_scope":
        why = "the app lacks the files:write permission; ask an admin to add it and reinstall the app"
    else:
        why = f"Slack refused the upload ({(error or 'unknown error')[:80]})"
    return build_text_message(f":warning: I could not send you your data file: {why}. Nothing was sent.")


def about_your_data_blocks(policy: DataPolicy) -> list[Block]:
    """App Home's short "About your data" section."""
    threshold = respondent_threshold(policy.min_respondents)
    text = (
        "*About your data*\n"
        "• *Stored:* your answers to each assessment, the scores and report made from them, when you took it, "
        "and your reminder choices and time zone.\n"
        f"• *Who sees what:* your individual answers and reports only you. Channels see only team averages, "
        f"and only once at least {threshold} people have answered.\n"
        f"• *Kept:* completed assessments for {_kept(policy.retention_days)}, unfinished ones until they expire "
        f"({DEFAULT_EXPIRY.days} days untouched).\n"
        "• `/compass export-me` sends you all of it as a JSON file; `/compass forget-me` deletes all of it."
    )
    return [DividerBlock(), section(text, block_id=ids.Block.ABOUT_DATA)]
