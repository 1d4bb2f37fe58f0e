"""What the scheduler sends a person: an invitation to (re-)assess, a reminder of an unfinished one."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.domain.questionnaire import Questionnaire
from bot.slack import ids
from bot.slack.blocks.common import Message, button, date_text, resume_button, section
from bot.slack.ids import Action


def build_prompt_message(last_completed: datetime | None, cadence_days: int) -> Message:
    """Invitation to (re-)assess, with Start and Remind me later."""
    if last_completed is None:
        text = "Your team uses MLOps Compass. Ten minutes of questions show where your MLOps practice is weakest."
    else:
        text = (
            f"It has been over {cadence_days} days since your last MLOps Compass assessment "
            f"({date_text(last_completed)}). Take it again to see what changed."
        )
    blocks: list[Block] = [
        section(f":compass: {text}"),
        ActionsBlock(
            elements=[
                button("Start the assessment", Action.START, ids.NO_REF, "primary"),
                button("Remind me later", Action.SNOOZE, ids.NO_REF),
            ],
            block_id="prompt",
        ),
    ]
    return Message(text, tuple(blocks))


def build_reminder_message(assessment_id: int, bank: Questionnaire, position: int, number: int) -> Message:
    """Reminder about an unfinished assessment on ``bank``, with Resume and Remind me later."""
    position = min(position, len(bank) - 1)
    return build_reminder_at(assessment_id, bank.questions[position].id, position, len(bank), number)


def build_reminder_at(assessment_id: int, question_id: str, position: int, total: int, number: int) -> Message:
    """Reminder about an unfinished assessment waiting at ``question_id`` (``position`` of ``total``)."""
    text = (
        f"Your MLOps Compass assessment is waiting at question {position + 1} of {total}. "
        "Your answers so far are saved."
    )
    last = " This is the last reminder." if number >= 2 else ""
    blocks: list[Block] = [
        section(f":hourglass_flowing_sand: {text}{last}"),
        ActionsBlock(
            elements=[
                resume_button(assessment_id, question_id, position + 1),
                button("Remind me later", Action.SNOOZE, ids.encode(assessment_id, question_id)),
            ],
            block_id=f"reminder.{number}",
        ),
    ]
    return Message(text, tuple(blocks))
