"""Team targets: the lines the digest and `/compass team` show, the list, and the channel announcement."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock

from bot.domain.targets import Standing, TargetProgress
from bot.slack.blocks.common import Message, change_text, emoji, section

STANDING_TEXT = {
    Standing.REACHED: ":white_check_mark: reached",
    Standing.ON_TRACK: ":arrow_right: on track",
    Standing.BEHIND: ":warning: behind",
    Standing.NOT_JUDGED: "not judged yet",
}
EXAMPLE = "`/compass target monitoring 3 by 2027-Q2`"


def target_phrase(name: str, level: int, by: str | None) -> str:
    return f"{name} at level {level}" + (f" by {by}" if by else "")


def target_line(t: TargetProgress) -> str:
    """One target: where the team is now, the change since the last digest, on track / behind / reached.
    Below the threshold ``current`` is None and the line carries no figure."""
    line = f"{emoji(t.level)} *{t.dimension}* → L{t.level}" + (f" by {t.by}" if t.by else "")
    if not t.asked:
        return line + " · not asked in the questions this workspace answers now"
    if t.current is None:
        return line
    if t.agreed_on is not None:  # judged against the team's own statement, not the mean of its answers
        line += f" · agreed {t.current:.2f} in session on {t.agreed_on.isoformat()}"
    else:
        line += f" · now {t.current:.2f}"
    delta = change_text(t.change)
    line += f" {delta}" if delta else ""
    if t.standing is not None:
        line += f" · {STANDING_TEXT[t.standing]}"
    if t.standing in (Standing.ON_TRACK, Standing.BEHIND) and t.expected is not None:
        line += f" (the line is at {t.expected:.2f})"
    return line


def targets_blocks(targets: Sequence[TargetProgress]) -> list[Block]:
    """The Targets section of the digest and of `/compass team` (nothing when the team has none)."""
    if not targets:
        return []
    return [DividerBlock(), section(":dart: *Targets*\n" + "\n".join(target_line(t) for t in targets))]


def build_targets_message(channel: str, targets: Sequence[TargetProgress]) -> Message:
    """`/compass target` with no words: the channel's targets."""
    if not targets:
        text = f"<#{channel}> has no targets yet. Set one with {EXAMPLE} (a dimension, a level 1-4, a quarter)."
        return Message(text, (section(text),))
    lines = "\n".join(target_line(t) for t in targets)
    text = (
        f":dart: *Targets of <#{channel}>*\n{lines}\n"
        "Change one by setting it again; `/compass target <dimension> off` removes it."
    )
    return Message(
        f"Targets of {channel}: " + ", ".join(f"{t.dimension} L{t.level}" for t in targets), (section(text),)
    )


def build_target_set_announcement(user: str, name: str, level: int, by: str | None) -> Message:
    text = f"🎯 <@{user}> set a target: {target_phrase(name, level, by)}"
    return Message(text, (section(text),))


def build_target_removed_announcement(user: str, name: str) -> Message:
    text = f"🎯 <@{user}> removed the target for {name}"
    return Message(text, (section(text),))
