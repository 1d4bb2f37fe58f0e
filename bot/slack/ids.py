"""Every action_id, block_id and callback value shared by the Block Kit builders and the listeners."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.errors import CompassError

COMMAND = "/compass"


class Action(StrEnum):
    # Answer buttons are answer_1 .. answer_4; the listener matches them with ANSWER_PATTERN.
    NOT_APPLICABLE = "not_applicable"
    BACK = "back"
    RESUME = "resume"
    START_OVER = "start_over"
    START = "start"  # App Home and re-assessment prompts: begin (or offer to resume) in the DM
    SNOOZE = "snooze"  # "Remind me later" on invitations and reminders
    TEAMS_NEXT = "teams_next"  # the pages of `/compass teams`; the value is the page to show
    TEAMS_PREVIOUS = "teams_previous"
    TEAMS_HEATMAP = "teams_heatmap"  # "Heat-map image" on `/compass teams` and App Home; the value is the page
    FORGET_ME = "forget_me"  # the danger button under `/compass forget-me`: delete everything about me
    # A team session in a channel: votes are session_vote_1 .. _4 and session_vote_na, agreed levels
    # session_agree_1 .. _4 and session_agree_na (SESSION_VOTE_PATTERN, SESSION_AGREE_PATTERN).
    SESSION_REVEAL = "session_reveal"  # the facilitator shows the votes
    SESSION_NEXT = "session_next"  # the facilitator moves to the next question (or the summary)
    SESSION_ADD_ACTION = "session_add_action"  # opens the action form
    ACTION_DONE = "action_done"  # on `/compass actions`; the value is the action's id
    SESSION_START = "start_session"  # "Start a session" on a digest: as `/compass session` in its channel
    BANK_SWITCH = "bank_switch"  # a pack's button under `/compass questions`; the value is encode_bank_switch's
    BANK_APPLY = "bank_apply"  # Apply under the preview of a bank file shared in the DM (encode_bank_upload)
    BANK_CANCEL = "bank_cancel"  # Cancel under that preview


class Work(StrEnum):
    """Kinds of queued work: what the worker does for a request the web process acknowledged."""

    ANSWER = "answer"  # answer_1 .. answer_4 and N/A
    BACK = "back"
    RESUME = "resume"
    START_OVER = "start_over"
    START = "start"
    SNOOZE = "snooze"
    COMMAND = "command"  # /compass subcommands that read or write
    HOME = "home"  # app_home_opened
    TEAMS_PAGE = "teams_page"  # Next / Previous on `/compass teams`
    TEAMS_HEATMAP = "teams_heatmap"  # the heat-map image of a page of `/compass teams`, into the DM
    FORGET = "forget"  # the confirmed `/compass forget-me`
    DELIVER = "deliver"  # the rest of a job whose Slack calls had to wait for Retry-After
    SESSION_VOTE = "session_vote"
    SESSION_STEP = "session_step"  # the facilitator's reveal, agree and next
    SESSION_PICK = "session_pick"
    SESSION_REFRESH = "session_refresh"  # queued by the use case itself (app.team_sessions.REFRESH_WORK)
    SESSION_ACTION_FORM = "session_action_form"  # open the form
    SESSION_ACTION_SAVE = "session_action_save"  # the form submitted
    ACTION_DONE = "action_done"
    SESSION_START = "start_session"  # "Start a session" on a digest
    BANK_SWITCH = "bank_switch"  # a confirmed pack switch under `/compass questions`
    BANK_UPLOAD = "bank_upload"  # a JSON file shared in the app's DM: checked, previewed
    BANK_APPLY = "bank_apply"  # Apply or Cancel under that preview


ANSWER_PREFIX = "answer_"
ANSWER_PATTERN = re.compile(r"^answer_[1-4]$")


SESSION_VOTE_PATTERN = re.compile(r"^session_vote_([1-4]|na)$")
SESSION_AGREE_PATTERN = re.compile(r"^session_agree_([1-4]|na)$")
# The facilitator picks the dimension: session_pick_0, _1, ... (ids must differ within a block); the value is its id.
SESSION_PICK_PATTERN = re.compile(r"^session_pick_\d+$")
# bank_switch_<pack>: Slack wants the action ids of one block distinct, and the packs share one.
BANK_SWITCH_PATTERN = re.compile(r"^bank_switch(_[a-z0-9_]+)?$")
ACTION_FORM = "session_action_form"  # the modal's callback_id


def session_vote_action(level: int | None) -> str:
    return f"session_vote_{'na' if level is None else level}"


def session_agree_action(level: int | None) -> str:
    return f"session_agree_{'na' if level is None else level}"


def level_of_action(action_id: str) -> int | None:
    """The level a session_vote_* or session_agree_* button stands for (None: not applicable)."""
    word = action_id.rsplit("_", 1)[-1]
    return None if word == "na" else int(word)


@dataclass(frozen=True)
class SessionRef:
    """What a session button refers to: the session and the question it was shown for."""

    session_id: int
    question_id: str


_SESSION_VALUE = re.compile(r"^s1\|(?P<session>\d+)\|(?P<question>[a-z0-9_.]*)$")


def encode_session(session_id: int, question_id: str) -> str:
    return f"s1|{session_id}|{question_id}"


def decode_session(value: str | None) -> SessionRef:
    match = _SESSION_VALUE.match(value or "")
    if not match:
        raise StaleButton(f"unrecognised session button value {value!r}")
    return SessionRef(int(match.group("session")), match.group("question"))


_BANK_VALUE = re.compile(r"^b1\|(?P<pack>[a-z0-9_]+)\|(?P<revision>\d+)$")


def encode_bank_switch(pack: str, expected_revision: int) -> str:
    """A pack button's value: the pack, and the revision of the bank the person saw (the switch
    applies only while it is still the one in use)."""
    return f"b1|{pack}|{expected_revision}"


def decode_bank_switch(value: str | None) -> tuple[str, int]:
    match = _BANK_VALUE.match(value or "")
    if not match:
        raise StaleButton(f"unrecognised bank button value {value!r}")
    return match.group("pack"), int(match.group("revision"))


_UPLOAD_VALUE = re.compile(r"^u1\|(?P<file>F[A-Z0-9]+)\|(?P<hash>[0-9a-f]+)\|(?P<revision>\d+)$")


@dataclass(frozen=True)
class UploadRef:
    """What Apply under a previewed bank file refers to: the file (fetched again, the bank being too
    large for a button), the hash of the bank previewed, and the revision it was previewed over."""

    file_id: str
    content_hash: str
    revision: int


def encode_bank_upload(file_id: str, content_hash: str, revision: int) -> str:
    return f"u1|{file_id}|{content_hash}|{revision}"


def decode_bank_upload(value: str | None) -> UploadRef:
    match = _UPLOAD_VALUE.match(value or "")
    if not match:
        raise StaleButton(f"unrecognised bank upload value {value!r}")
    return UploadRef(match.group("file"), match.group("hash"), int(match.group("revision")))


def answer_action(level: int) -> str:
    return f"{ANSWER_PREFIX}{level}"


class Block(StrEnum):
    QUESTION = "question"
    OPTIONS = "options"
    ANSWERS = "answers"
    CONTROLS = "controls"
    PROGRESS = "progress"
    EVIDENCE = "evidence"
    HOME_ACTIONS = "home_actions"
    TEAMS_PAGES = "teams_pages"
    HOME_TEAMS = "home_teams"
    FORGET_CONFIRM = "forget_confirm"
    ABOUT_DATA = "about_data"
    DIGEST_ACTIONS = "digest_actions"


# Message metadata on every question message: which assessment it shows. It lets the worker find
# a question it posted but never recorded (conversations.history, bot/slack/work/dm.py). Anyone
# in the workspace can read message metadata, so it carries the id and nothing else.
QUESTION_EVENT = "compass_question"


def question_metadata(assessment_id: int) -> dict[str, Any]:
    return {"event_type": QUESTION_EVENT, "event_payload": {"assessment_id": assessment_id}}


def assessment_of(metadata: Any) -> int | None:
    """The assessment a message's metadata (as conversations.history returns it) names, if it is a question's."""
    if not isinstance(metadata, dict) or metadata.get("event_type") != QUESTION_EVENT:
        return None
    found = (metadata.get("event_payload") or {}).get("assessment_id")
    return found if isinstance(found, int) else None


class StaleButton(CompassError):
    user_message = "That button is out of date. Run `/compass start` to carry on."


# Button values carry what the click refers to, so a late or repeated click can be
# recognised as such: the assessment and the question the button was shown for. Question
# buttons (v2) also carry the question's content hash, so that a button shown before the
# question was edited is recognised too; v1 values (other buttons, older messages) have none.
_REF = r"\|(?P<assessment>\d+)\|(?P<question>[a-z0-9_.]+)"
_LEVEL = r"(\|(?P<level>[1-4]|na))?"
_VALUES = (
    re.compile(rf"^v1{_REF}{_LEVEL}$"),
    re.compile(rf"^v2{_REF}\|(?P<hash>[0-9a-f]{{16,64}}){_LEVEL}$"),
)


@dataclass(frozen=True)
class ButtonRef:
    assessment_id: int
    question_id: str
    level: int | None = None  # None with is_na False means "no level" (Back, Resume)
    is_na: bool = False
    question_hash: str | None = None  # what the question was when the button was shown (v2 only)


NO_REF = "v1|0|none"  # the value of buttons that refer to no assessment (Start, Remind me later)


def encode(
    assessment_id: int, question_id: str, level: int | None = None, na: bool = False, question_hash: str | None = None
) -> str:
    suffix = "|na" if na else "" if level is None else f"|{level}"
    if question_hash is not None:
        return f"v2|{assessment_id}|{question_id}|{question_hash}{suffix}"
    return f"v1|{assessment_id}|{question_id}{suffix}"


def decode(value: str | None) -> ButtonRef:
    match = next((m for m in (pattern.match(value or "") for pattern in _VALUES) if m), None)
    if not match:
        raise StaleButton(f"unrecognised button value {value!r}")
    level = match.group("level")
    return ButtonRef(
        assessment_id=int(match.group("assessment")),
        question_id=match.group("question"),
        level=int(level) if level and level != "na" else None,
        is_na=level == "na",
        question_hash=match.groupdict().get("hash"),
    )
