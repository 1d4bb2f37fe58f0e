"""A team session in its channel: the opening, the live question (voting, revealed, agreed), the
summary, the private replies, the action form and `/compass actions`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, SectionBlock

from bot.app.team_sessions import ActionView, AlreadyLive, ChooseDimension, Ended, LiveQuestion, Opened, VoteTaken
from bot.domain.levels import level_name
from bot.domain.team_session import ACTION_TEXT_LIMIT, Reveal, Stage, voted_text
from bot.slack import ids
from bot.slack.blocks.assessment import evidence_line
from bot.slack.blocks.common import Message, button, change_text, clip, context, emoji, md, plain, section
from bot.slack.ids import Action

MAX_ACTIONS_LISTED = 20


def _agreed_text(level: int | None) -> str:
    return "not applicable" if level is None else f"{emoji(level)} Level {level} · {level_name(level)}"


def _action_line(action: ActionView) -> str:
    owner = f"<@{action.owner}>" if action.owner else "no owner"
    due = f", due {action.due}" if action.due else ""
    mark = "✅ " if action.done else "• "
    return f"{mark}{plain(clip(action.text, ACTION_TEXT_LIMIT))} ({owner}{due})"


def build_opening_message(opened: Opened) -> Message:
    first = opened.first
    lines = [
        f":busts_in_silhouette: *Team session: {opened.scope}*, facilitated by <@{opened.facilitator}>",
        f"{first.total} question{'s' if first.total != 1 else ''}. For each one, vote privately with the buttons: "
        "nobody sees who voted what, and you can change your vote until the facilitator reveals the votes. "
        "Then the team talks it through and agrees a level.",
    ]
    blocks: list[Block] = [section("\n".join(lines), block_id="session_opening")]
    if opened.open_actions:
        shown = opened.open_actions[:MAX_ACTIONS_LISTED]
        listed = "\n".join(_action_line(a) for a in shown)
        more = len(opened.open_actions) - len(shown)
        tail = f"\n…and {more} more (`/compass actions`)" if more > 0 else ""
        blocks.append(section(f"*Open actions from earlier sessions*\n{listed}{tail}", block_id="session_open_actions"))
    return Message(f"Team session: {opened.scope}, facilitated by <@{opened.facilitator}>", tuple(blocks))


def build_live_question(live: LiveQuestion) -> Message:
    """The live question: what to vote on and how many have voted; after the reveal the spread and
    the agree buttons; once agreed, the level and the way on."""
    q = live.question
    value = ids.encode_session(live.session_id, q.id)
    v = f"{live.session_id}.{live.number}"
    blocks: list[Block] = [
        section(
            f"*Question {live.number} of {live.total}* · {q.title}\n{q.text}",
            block_id=f"session_question.{v}",
        ),
        section(
            "\n".join(f"*{o.level} · {o.label}*: {o.text}" for o in q.options),
            block_id=f"session_levels.{v}",
        ),
    ]
    if live.evidence is not None:
        blocks.append(context(evidence_line(live.evidence), block_id=f"session_evidence.{v}"))
    facilitator = f"<@{live.facilitator}>" if live.facilitator else "the facilitator"
    if live.stage == Stage.VOTING:
        votes = [button(f"{o.level} · {o.label}", ids.session_vote_action(o.level), value) for o in q.options]
        if q.allow_na:
            votes.append(button("Not applicable", ids.session_vote_action(None), value))
        blocks.append(ActionsBlock(elements=votes, block_id=f"session_votes.{v}"))
        blocks.append(
            ActionsBlock(
                elements=[button("Reveal the votes", Action.SESSION_REVEAL, value, style="primary")],
                block_id=f"session_facilitate.{v}",
            )
        )
        blocks.append(
            context(
                f"🗳️ {voted_text(live.votes, live.members)} · votes stay private until {facilitator} reveals them",
                block_id=f"session_count.{v}",
            )
        )
    else:
        assert live.reveal is not None
        blocks.append(section(_reveal_text(live.reveal, live.team_mean), block_id=f"session_reveal.{v}"))
        if live.stage == Stage.REVEALED:
            agree = [button(f"Agree {o.level}", ids.session_agree_action(o.level), value) for o in q.options]
            if q.allow_na:
                agree.append(button("Agree: not applicable", ids.session_agree_action(None), value))
            blocks.append(ActionsBlock(elements=agree, block_id=f"session_agree.{v}"))
            blocks.append(context(f"{facilitator}: agree the team's level once you have talked it through."))
        else:
            assert live.agreed is not None
            blocks.append(section(f"*Agreed:* {_agreed_text(live.agreed.level)}", block_id=f"session_agreed.{v}"))
            if live.actions:
                listed = "\n".join(_action_line(a) for a in live.actions)
                blocks.append(section(f"*Actions*\n{listed}", block_id=f"session_actions.{v}"))
            last = live.number == live.total
            blocks.append(
                ActionsBlock(
                    elements=[
                        button("Add an action", Action.SESSION_ADD_ACTION, value),
                        button(
                            "Finish the session" if last else "Next question", Action.SESSION_NEXT, value, "primary"
                        ),
                    ]
                    + [button(f"Change to {o.level}", ids.session_agree_action(o.level), value) for o in q.options],
                    block_id=f"session_next.{v}",
                )
            )
    text = f"Team session, question {live.number} of {live.total}: {q.title}"
    return Message(text, tuple(blocks))


def _reveal_text(spread: Reveal, team_mean: float | None) -> str:
    lines: list[str] = []
    if spread.counts is None:
        lines.append(
            f"*{voted_text(spread.votes, None)}: too few to show the spread* (it shows from {spread.threshold})."
        )
    else:
        head = "*The votes*" + (
            "  ⚠️ *mixed*: the team sees this differently, talk about it first" if spread.mixed else ""
        )
        lines.append(head)
        for level, count in zip((1, 2, 3, 4), spread.counts, strict=True):
            lines.append(f"{emoji(level)} Level {level}: {'▇' * count}{' ' if count else ''}{count}")
        if spread.not_applicable:
            lines.append(f"Not applicable: {spread.not_applicable}")
    if team_mean is not None:
        lines.append(f"Team's own answers in their assessments: mean level {team_mean:.1f}")
    return "\n".join(lines)


def build_closed_question(live: LiveQuestion) -> Message:
    """A question the team has moved past: what was agreed, no buttons."""
    agreed = _agreed_text(live.agreed.level) if live.agreed else "not agreed"
    text = f"*Question {live.number} of {live.total}* · {live.question.title}\nAgreed: {agreed}"
    return Message(f"Team session, question {live.number}: agreed {agreed}", (section(text),))


def build_session_closed(title: str) -> Message:
    text = f"*{title}*\nThis session has ended, so this message takes no more votes."
    return Message("This session has ended.", (section(text),))


def build_summary_message(ended: Ended) -> Message:
    s = ended.summary
    why = {"finished": "", "ended": " (ended early)", "idle": " (ended after 72 hours without activity)"}
    blocks: list[Block] = [
        section(f":checkered_flag: *Team session summary: {ended.scope}*{why.get(ended.reason, '')}", "summary_head")
    ]
    if not s.questions:
        blocks.append(section("No question was agreed, so there is nothing to score."))
        if ended.actions:
            listed = "\n".join(_action_line(a) for a in ended.actions[:MAX_ACTIONS_LISTED])
            blocks.append(section(f"*Actions*\n{listed}", "summary_actions"))
        return Message(f"Team session summary: {ended.scope}", tuple(blocks))
    dims = []
    for d in s.dimensions:
        figure = "not applicable" if d.score is None else f"{d.score:.2f} · Level {d.level}"
        delta = change_text(d.change)
        dims.append(f"{emoji(d.level)} *{d.name}*: {figure}" + (f"  {delta} since the last session" if delta else ""))
    blocks.append(section("*Agreed per dimension*\n" + "\n".join(dims), "summary_dimensions"))
    questions = [
        f"{emoji(q.level)} {q.title}: {'N/A' if q.level is None else f'Level {q.level}'}"
        + ("  _(mixed)_" if q.mixed else "")
        for q in s.questions
    ]
    blocks.append(section("*Agreed per question*\n" + "\n".join(questions), "summary_questions"))
    if s.mixed:
        blocks.append(
            context("Mixed votes (worth another look): " + ", ".join(q.title for q in s.mixed), "summary_mixed")
        )
    if ended.actions:
        listed = "\n".join(_action_line(a) for a in ended.actions[:MAX_ACTIONS_LISTED])
        blocks.append(section(f"*Actions*\n{listed}", "summary_actions"))
    if s.top is not None:
        blocks.append(DividerBlock())
        blocks.append(
            section(
                f"🎯 *Next for {s.top.dimension_name}* (Level {s.top.dimension_level}): {s.top.advice}\n"
                f"_{s.top.step.question_title}_: {s.top.step.text}",
                "summary_recommendation",
            )
        )
    return Message(f"Team session summary: {ended.scope}", tuple(blocks))


def build_vote_receipt(taken: VoteTaken) -> Message:
    what = "not applicable" if taken.level is None else f"Level {taken.level} · {level_name(taken.level)}"
    verb = "changed to" if taken.changed else "counted:"
    return Message(
        f"Your vote {verb} {what}",
        (context(f"🗳️ Your vote {verb} *{what}*. Only you see this; you can change it until the reveal."),),
    )


def build_refusal(text: str) -> Message:
    return Message(text, (context(text),))


def build_already_live(live: AlreadyLive) -> Message:
    who = f" (facilitated by <@{live.facilitator}>)" if live.facilitator else ""
    return Message(
        "A session is already running here",
        (
            section(
                f"A session is already running in <#{live.channel}>{who}. Vote on its latest question message, "
                "or its facilitator ends it with `/compass session end`."
            ),
        ),
    )


def build_choose_dimension(choice: ChooseDimension) -> Message:
    buttons = [button(c.name, f"session_pick_{i}", c.id) for i, c in enumerate(choice.choices)]
    return Message(
        "Which dimension should the session cover?",
        (
            section(
                "This team has no results yet, so I can't tell its weakest dimension. "
                "Which one should the session cover?"
            ),
            ActionsBlock(elements=buttons[:25], block_id="session_pick"),
        ),
    )


def build_action_form(session_id: int, question_id: str, title: str) -> dict[str, Any]:
    """The modal that adds an action (views.open)."""
    return {
        "type": "modal",
        "callback_id": ids.ACTION_FORM,
        "private_metadata": ids.encode_session(session_id, question_id),
        "title": {"type": "plain_text", "text": "Add an action"},
        "submit": {"type": "plain_text", "text": "Add"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(f"For: {title}", 150)}]},
            {
                "type": "input",
                "block_id": "what",
                "label": {"type": "plain_text", "text": "What will the team do?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "what",
                    "max_length": ACTION_TEXT_LIMIT,
                },
            },
            {
                "type": "input",
                "block_id": "owner",
                "optional": True,
                "label": {"type": "plain_text", "text": "Owner"},
                "element": {"type": "users_select", "action_id": "owner"},
            },
            {
                "type": "input",
                "block_id": "due",
                "optional": True,
                "label": {"type": "plain_text", "text": "Due"},
                "element": {"type": "datepicker", "action_id": "due"},
            },
        ],
    }


def build_actions_message(channel: str, actions: Sequence[ActionView], note: str | None = None) -> Message:
    blocks: list[Block] = []
    if note:
        blocks.append(context(note))
    if not actions:
        blocks.append(section(f"<#{channel}> has no open actions. Sessions add them: `/compass session`."))
        return Message("No open actions", tuple(blocks))
    blocks.append(section(f"*Open actions of <#{channel}>*"))
    for a in actions[:MAX_ACTIONS_LISTED]:
        blocks.append(
            SectionBlock(
                text=md(_action_line(a)),
                block_id=f"action.{a.id}",
                accessory=button("Done", Action.ACTION_DONE, str(a.id)),
            )
        )
    return Message(f"{len(actions)} open action(s)", tuple(blocks))
