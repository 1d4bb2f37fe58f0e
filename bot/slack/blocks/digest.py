"""Team digests in a channel, the digest set-up, and the notice when a digest had to be paused."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock

from bot.app.types import DigestSetting
from bot.domain.digest import Digest
from bot.domain.digest_words import SendDigest
from bot.domain.levels import level_name
from bot.domain.measured import MeasuredSection
from bot.slack.blocks.common import (
    LEGEND,
    LEVEL_EMOJI,
    NO_LEVEL_EMOJI,
    Message,
    build_text_message,
    change_text,
    clip,
    context,
    dimension_line,
    emoji,
    level_label,
    section,
)
from bot.slack.blocks.targets import targets_blocks


def _spread(levels: tuple[int, int, int, int]) -> str:
    return " ".join(f"{LEVEL_EMOJI[n]}{count}" for n, count in zip((1, 2, 3, 4), levels, strict=True))


def build_digest_message(digest: Digest, channel: str, title: str | None = None) -> Message:
    """The team digest: participation, overall and per-dimension levels with spread, change, focus,
    and what the team's delivery signals measured.

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
        blocks.extend(targets_blocks(digest.targets))
        blocks.extend(measured_blocks(digest.measured))
        return Message(f"{title}: {more} more assessments needed before team results are shown.", tuple(blocks))
    blocks.append(context(participation + " (individual answers are never shown)."))
    if digest.level is not None and digest.overall is not None:
        overall = f"{emoji(digest.level)} *Team level: {level_label(digest.level)}*  ({digest.overall:.2f} / 4)"
        delta = change_text(digest.change)
        overall += f"  {delta} since the last digest" if delta else ""
    else:
        overall = f"{NO_LEVEL_EMOJI} *Team level: not scored*"
    blocks.append(section(overall))
    lines = []
    for d in digest.dimensions:
        line = dimension_line(d.name, d.mean, d.level, d.change)
        lines.append(f"{line}\n      spread: {_spread(d.spread)}")
    blocks.append(section("\n".join(lines)))
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
    blocks.extend(measured_blocks(digest.measured))
    blocks.append(context(LEGEND))
    return Message(text, tuple(blocks))


def measured_blocks(measured: MeasuredSection | None) -> list[Block]:
    """ "Measured": the team's delivery signals, and each question where the team's answers and the
    measurements are more than a level apart."""
    if measured is None:
        return []
    lines = [f":bar_chart: *Measured* in <#{measured.channel_id}>, last {measured.days} days"]
    lines.extend(f"• {m.phrase}" for m in measured.measurements)
    for flag in measured.disagreements:
        e = flag.evidence
        fits = f"L{e.low}" if e.low == e.high else f"L{e.low}-{e.high}"
        lines.append(
            f":warning: *{flag.title}*: self-assessed {emoji(flag.self_assessed)} L{flag.self_assessed}, "
            f"measured {emoji(e.low)} {fits}"
        )
    return [DividerBlock(), section("\n".join(lines))]


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
