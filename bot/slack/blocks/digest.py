"""Team digests in a channel, the digest set-up, and the notice when a digest had to be paused."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock

from bot.app.types import DigestSetting
from bot.domain.digest import Digest
from bot.domain.digest_words import SendDigest
from bot.domain.levels import level_name
from bot.domain.measured import MeasuredSection
from bot.domain.say_do import DimensionGap
from bot.domain.team_session import AgreedLevel, TeamAction
from bot.slack import ids
from bot.slack.blocks.common import (
    LEGEND,
    LEVEL_EMOJI,
    NO_LEVEL_EMOJI,
    Message,
    build_text_message,
    button,
    change_text,
    clip,
    context,
    dimension_line,
    emoji,
    level_label,
    plain,
    section,
)
from bot.slack.blocks.targets import targets_blocks
from bot.slack.ids import Action


def _spread(levels: tuple[int, int, int, int]) -> str:
    return " ".join(f"{LEVEL_EMOJI[n]}{count}" for n, count in zip((1, 2, 3, 4), levels, strict=True))


def agreed_text(agreed: AgreedLevel) -> str:
    """A level a session agreed, and when: "agreed in session on 2026-12-07: 🟠 L2 (2.40)"."""
    return f"agreed in session on {agreed.on.isoformat()}: {emoji(agreed.level)} L{agreed.level} ({agreed.score:.2f})"


def agreed_blocks(agreed: Sequence[AgreedLevel]) -> list[Block]:
    """The levels the team's sessions agreed, on their own (when no team means show beside them)."""
    if not agreed:
        return []
    lines = [f"• *{a.name}*: {agreed_text(a)}" for a in agreed]
    return [DividerBlock(), section(":handshake: *Agreed by the team*\n" + "\n".join(lines))]


def action_line(action: TeamAction) -> str:
    owner = f"<@{action.owner}>" if action.owner else "no owner"
    due = f" · due {action.due.isoformat()}" if action.due else ""
    late = " · :warning: *overdue*" if action.overdue else ""
    return f"• {plain(action.text)} ({owner}{due}){late}"


def actions_blocks(actions: Sequence[TeamAction], total: int) -> list[Block]:
    """The channel's open actions from its sessions, overdue ones marked."""
    if not actions:
        return []
    overdue = sum(1 for a in actions if a.overdue)
    head = f":ballot_box_with_check: *Open actions* ({total}" + (f", {overdue} overdue" if overdue else "") + ")"
    lines = [head, *(action_line(a) for a in actions)]
    if total > len(actions):
        lines.append(f"… and {total - len(actions)} more: `/compass actions` lists them all.")
    return [DividerBlock(), section("\n".join(lines))]


def start_session_blocks() -> list[Block]:
    """The digest's "Start a session" button: as `/compass session` in the channel, for whoever clicks."""
    start = button("Start a session", Action.SESSION_START, "weakest")
    return [ActionsBlock(elements=[start], block_id=ids.Block.DIGEST_ACTIONS)]


def build_digest_message(
    digest: Digest, channel: str, title: str | None = None, *, start_button: bool = True
) -> Message:
    """The team digest: participation, overall and per-dimension levels with spread, change, focus,
    what the team's sessions agreed and its open actions, what the team's delivery signals measured,
    and (``start_button``) a button to start a session.

    Below the anonymity threshold it shows no self-assessed figures, only how many more answers
    are needed; the measurements (about systems, never about a person) still show.
    """
    title = title or f"MLOps maturity digest · {digest.period}"
    participation = f"{digest.respondents} of {digest.members} members of <#{channel}> have a current assessment"
    blocks: list[Block] = [HeaderBlock(text=clip(title, 150))]
    if not digest.visible:
        more = digest.needed
        text = (
            f"{participation}. Team results appear once at least {digest.min_respondents} people have answered, "
            f"so nobody's answers can be singled out: {more} more needed. Run `/compass start` to take part."
        )
        blocks.append(section(f":lock: {text}"))
        blocks.extend(agreed_blocks(digest.agreed))
        blocks.extend(targets_blocks(digest.targets))
        blocks.extend(actions_blocks(digest.actions, digest.open_actions))
        blocks.extend(measured_blocks(digest.measured))
        blocks.extend(start_session_blocks() if start_button else ())
        return Message(f"{title}: {more} more assessments needed before team results are shown.", tuple(blocks))
    blocks.append(context(participation + " (individual answers are never shown)." + bank_note(digest)))
    if digest.level is not None and digest.overall is not None:
        overall = f"{emoji(digest.level)} *Team level: {level_label(digest.level)}*  ({digest.overall:.2f} / 4)"
        delta = change_text(digest.change)
        overall += f"  {delta} since the last digest" if delta else ""
    else:
        overall = f"{NO_LEVEL_EMOJI} *Team level: not scored*"
    blocks.append(section(overall))
    lines = []
    agreed = {a.dimension_id: a for a in digest.agreed}
    for d in digest.dimensions:
        line = dimension_line(d.name, d.mean, d.level, d.change)
        lines.append(f"{line}\n      spread: {_spread(d.spread)}")
        if d.id in agreed:
            lines.append(f"      {agreed_text(agreed[d.id])}")
    blocks.append(section("\n".join(lines)))
    shown = {d.id for d in digest.dimensions}
    blocks.extend(agreed_blocks([a for a in digest.agreed if a.dimension_id not in shown]))
    text = f"{title}: team level " + (
        f"{digest.level} {level_name(digest.level)}" if digest.level is not None else "not scored"
    )
    if digest.top is not None:
        top = digest.top
        step = f"\n*Next step: {top.step_title}.* {top.step}" if top.step else ""
        blocks.append(DividerBlock())
        blocks.append(
            section(f":dart: *Team focus: {top.dimension}* ({emoji(top.level)} L{top.level})\n{top.advice}{step}")
        )
        text += f". Team focus: {top.dimension}."
    blocks.extend(targets_blocks(digest.targets))
    blocks.extend(actions_blocks(digest.actions, digest.open_actions))
    blocks.extend(measured_blocks(digest.measured))
    blocks.append(context(LEGEND))
    blocks.extend(start_session_blocks() if start_button else ())
    return Message(text, tuple(blocks))


def measured_blocks(measured: MeasuredSection | None) -> list[Block]:
    """ "Measured": the team's delivery signals, and each question where the team's answers and the
    measurements are more than a level apart."""
    if measured is None:
        return []
    lines = [f":bar_chart: *Measured* in <#{measured.channel_id}>, last {measured.days} days"]
    lines.extend(f"• {m.phrase}" for m in measured.measurements)
    if measured.gap:
        lines.append("*Said and measured* (the team's mean answers against the measurements)")
        lines.extend(f"• {gap_line(g)}" for g in measured.gap)
    for flag in measured.disagreements:
        e = flag.evidence
        fits = f"L{e.low}" if e.low == e.high else f"L{e.low}-{e.high}"
        lines.append(
            f":warning: *{flag.title}*: self-assessed {emoji(flag.self_assessed)} L{flag.self_assessed}, "
            f"measured {emoji(e.low)} {fits}"
        )
    return [DividerBlock(), section("\n".join(lines))]


def bank_note(digest: Digest) -> str:
    """Which questions the figures come from, when the workspace chose its own, and the dimensions
    the previous digest had that they do not ask (their figures cannot be compared)."""
    note = ""
    if digest.pack is not None:
        note += f" Answered on the *{digest.pack}* questions (version {digest.bank_version})."
    if digest.not_asked:
        names = ", ".join(d.replace("_", " ") for d in digest.not_asked)
        note += f" Not asked in these questions, so not compared with the last digest: {names}."
    return note


def gap_line(gap: DimensionGap) -> str:
    """ "Model Deployment: 2 confirmed, 1 contradicted (Rollback), 1 unverifiable"."""
    parts = []
    if gap.confirmed:
        parts.append(f"{len(gap.confirmed)} confirmed")
    if gap.contradicted:
        named = ", ".join(v.title for v in gap.contradicted)
        parts.append(f"{len(gap.contradicted)} contradicted ({named})")
    if gap.unverifiable:
        parts.append(f"{len(gap.unverifiable)} unverifiable (no data)")
    return f"{gap.name}: {', '.join(parts)}"


def build_paused_digest_notice(channel: str, error: str) -> Message:
    reason = {
        "not_in_channel": "I am not a member of it",
        "channel_not_found": "I cannot see it (it was deleted, or it is private and I was never invited)",
        "is_archived": "it was archived",
    }.get(error, f"Slack answered `{error}`")
    text = (
        f"I paused the MLOps Compass digest for <#{channel}> because {reason}. "
        f"Invite me with `/invite @compass` in that channel, then run `/compass digest here` there to restart it."
    )
    return Message(text, (section(f":warning: {text}"),))


def build_digest_settings_message(settings: Sequence[DigestSetting]) -> Message:
    """`/compass digest` with no arguments: the channels that get a digest."""
    if not settings:
        text = (
            "No channel gets a team digest yet. In a team channel, run `/compass digest here weekly` "
            "(or `monthly`, `quarterly`)."
        )
        return build_text_message(text)
    lines = []
    for s in settings:
        state = f" (paused: {s.paused_reason})" if s.paused_reason else ""
        lines.append(f"• <#{s.channel_id}>: {s.cadence}{state}")
    text = "*Team digests*\n" + "\n".join(lines) + "\nTurn one off with `/compass digest off` in its channel."
    return Message("Team digests: " + ", ".join(f"{s.channel_id} {s.cadence}" for s in settings), (section(text),))


def build_digest_started_message(command: SendDigest) -> Message:
    return build_text_message(
        f":white_check_mark: <#{command.channel}> will get the team MLOps maturity digest {command.cadence}, "
        f"starting with the next full {command.period_name}. Team results show once at least the minimum "
        "number of members have assessed; individual answers never appear."
    )


def build_digest_stopped_message(channel: str, *, removed: bool) -> Message:
    return build_text_message(
        f"The digest for <#{channel}> is off." if removed else f"<#{channel}> had no digest set up."
    )
