"""What every surface's builders share: the Message type, level emoji and bars, small block helpers.

Blocks are slack_sdk's models, so Slack's per-element limits are checked when a message is
serialised; ``validate_blocks`` adds the limits the models leave out and runs on every
message and view the app builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.domain.levels import LEVEL_EMOJI as LEVEL_EMOJI  # re-exported: the builders take them from here
from bot.domain.levels import NO_LEVEL_EMOJI as NO_LEVEL_EMOJI
from bot.domain.levels import level_name
from bot.slack import ids
from bot.slack.ids import Action

LEGEND = "🔴 L1 Ad-hoc/Manual · 🟠 L2 Repeatable/Automated · 🟡 L3 Managed/Standardized · 🟢 L4 Optimized/Autonomous"
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_MESSAGE_CHARS = 12000  # Slack rejects messages whose blocks total ~13k characters
BAR_WIDTH = 10


class BlockLimitError(ValueError):
    pass


def validate_blocks(
    blocks: Sequence[dict[str, Any]], limit: int = MAX_MESSAGE_BLOCKS, max_chars: int | None = MAX_MESSAGE_CHARS
) -> None:
    """Check what slack_sdk's models do not: block count, unique ids, total size."""
    if not 1 <= len(blocks) <= limit:
        raise BlockLimitError(f"{len(blocks)} blocks; Slack allows 1 to {limit}")
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        raise BlockLimitError(f"duplicate block_id in {block_ids}")
    for b in blocks:
        actions = [e.get("action_id") for e in b.get("elements", []) if "action_id" in e]
        if len(actions) != len(set(actions)):
            raise BlockLimitError(f"duplicate action_id in block {b.get('block_id')}")
        for item in b.get("fields", []):
            if len(item.get("text", "")) > MAX_FIELD_TEXT:
                raise BlockLimitError(f"section field longer than {MAX_FIELD_TEXT} characters")
    size = len(str(blocks))
    if max_chars is not None and size > max_chars:
        raise BlockLimitError(f"message blocks total {size} characters; keep under {max_chars}")


@dataclass(frozen=True)
class Message:
    """A message: fallback text for notifications and screen readers, plus blocks (checked when built)
    and optionally Slack message metadata (``event_type``, ``event_payload``)."""

    text: str
    blocks: tuple[Block, ...]
    metadata: dict[str, Any] | None = field(default=None, compare=False)
    _serialised: list[dict[str, Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        serialised = [b.to_dict() for b in self.blocks]
        validate_blocks(serialised)
        object.__setattr__(self, "_serialised", serialised)

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"text": self.text, "blocks": self._serialised}
        if self.metadata is not None:
            kwargs["metadata"] = self.metadata
        return kwargs


def emoji(level: int | None) -> str:
    return NO_LEVEL_EMOJI if level is None else LEVEL_EMOJI[level]


def level_label(level: int) -> str:
    return f"Level {level} · {level_name(level)}"


def bar(score: float | None, width: int = BAR_WIDTH) -> str:
    if score is None:
        return "▱" * width
    filled = round((score - 1) / 3 * width)
    return "▰" * filled + "▱" * (width - filled)


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(done / total * width) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def change_text(change: float | None) -> str:
    if change is None:
        return ""
    if abs(change) < 0.005:
        return "= no change"
    return f"▲ +{change:.2f}" if change > 0 else f"▼ {change:.2f}"


def dimension_line(name: str, score: float | None, level: int | None, change: float | None) -> str:
    figures = "not scored" if score is None else f"{score:.2f}  `{bar(score)}`  L{level}"
    delta = change_text(change)
    return f"{emoji(level)} *{name}* · {figures}" + (f"  {delta}" if delta else "")


def date_text(when: datetime) -> str:
    return f"{when:%b %-d, %Y}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str) -> str:
    """Text a person typed, shown as typed: no mention (``<!channel>``), link or user reference of its own."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text)


def section(text: str, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=md(clip(text, MAX_SECTION_TEXT)), block_id=block_id)


def context(text: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(elements=[md(text)], block_id=block_id)


def button(text: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=clip(text, MAX_BUTTON_TEXT), action_id=action_id, value=value, style=style)


def resume_button(assessment_id: int, question_id: str, number: int) -> ButtonElement:
    """Continue an unfinished assessment at question ``number`` (the offer, App Home, reminders)."""
    return button(f"Resume at question {number}", Action.RESUME, ids.encode(assessment_id, question_id), "primary")


def start_over_button(assessment_id: int, question_id: str) -> ButtonElement:
    return button("Start over", Action.START_OVER, ids.encode(assessment_id, question_id))


def build_text_message(text: str) -> Message:
    """A one-section message: confirmations and explanations."""
    return Message(text, (section(text),))
