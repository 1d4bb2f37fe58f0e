"""`/compass signals`: a channel's delivery-signal sources and how to connect more (always ephemeral)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.app.evidence import WINDOW_DAYS
from bot.app.signal_setup import guide_for
from bot.app.signals import NewSource, SourceView
from bot.domain.evidence import Measurement
from bot.domain.signal_setup import Step, webhook_url
from bot.slack.blocks.common import Message, context, plain, section

HOW_TO_ADD = "Connect a system with `/compass signals add github|gitlab|mlflow|events|alertmanager` here."


def build_signals_message(
    channel_id: str, sources: Sequence[SourceView], public_url: str | None, measured: Sequence[Measurement] = ()
) -> Message:
    """The channel's sources, each with its webhook URL, what they measured, and how to add one."""
    if not sources:
        text = (
            f"<#{channel_id}> has no delivery signals yet. Compass can measure deployments, lead time, "
            "change failures, time to restore and training runs from GitHub, GitLab, MLflow or any CI, "
            f"and show them beside the answers. {HOW_TO_ADD}"
        )
        return Message(text, (section(f":bar_chart: {text}"),))
    lines = [f":bar_chart: *Delivery signals for <#{channel_id}>*"]
    for s in sources:
        lines.append(
            f"• *{s.kind.value}* `{s.id}`: `{webhook_url(public_url, s.path)}` (environment `{s.environment}`, "
            f"added by <@{s.created_by}> on {s.created_at:%Y-%m-%d})"
        )
    if measured:
        lines.append(f"*Measured, last {WINDOW_DAYS} days*")
        lines.extend(f"• {m.phrase}" for m in measured)
    else:
        lines.append("_Nothing measured yet: the first deployment, push or incident they report shows here._")
    blocks = [section("\n".join(lines)), context(f"{HOW_TO_ADD} Secrets are shown only once, when a source is added.")]
    return Message(f"Delivery signals for {channel_id}: {len(sources)} source(s)", tuple(blocks))


def build_source_added_message(new: NewSource, public_url: str | None) -> Message:
    """Shown only to the person who added the source: what to paste on the sender's side
    (bot/domain/signal_setup.py), with the secret, once."""
    s = new.source
    guide = guide_for(new, public_url)
    blocks: list[Block] = [
        section(f":white_check_mark: Added a *{s.kind.value}* source `{s.id}` for <#{s.channel_id}>. *{guide.title}:*")
    ]
    blocks.extend(section(_step(number, step)) for number, step in enumerate(guide.steps, start=1))
    notes = []
    if guide.url_is_placeholder:
        notes.append("Set `COMPASS_PUBLIC_URL` to Compass's public address to see the full URL here.")
    if guide.secret_shown:
        notes.append(f"The {guide.secret_name} is shown this once; `compass signals rotate {s.id}` makes a new one.")
    if notes:
        blocks.append(context(" ".join(notes)))
    return Message(f"Added a {s.kind.value} source {s.id} for {s.channel_id}", tuple(blocks))


def _step(number: int, step: Step) -> str:
    """A step as mrkdwn: the values to copy in code spans, the settings to tick in bold, code in a block."""
    lines = [f"*{number}.* {_escaped(step.text)}"]
    for field in step.fields:
        note = f" ({_escaped(field.note)})" if field.note else ""
        lines.append(f"*{field.label}:* `{_escaped(field.value)}`{note}")
    if step.ticks:
        lines.append(", ".join(f"*{tick}*" for tick in step.ticks))
    if step.code is not None:
        lines.append(f"```{_escaped(step.code)}```")
    return "\n".join(lines)


def _escaped(text: str) -> str:
    # Slack reads &, < and > as markup everywhere, code spans and blocks included.
    return plain(text)
