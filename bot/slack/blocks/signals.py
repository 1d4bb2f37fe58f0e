"""`/compass signals`: a channel's delivery-signal sources and how to connect more (always ephemeral)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.app.evidence import WINDOW_DAYS
from bot.app.signals import NewSource, SourceView
from bot.domain.evidence import Measurement
from bot.domain.signals import SourceKind
from bot.slack.blocks.common import Message, context, section

SETUP = {
    SourceKind.GITHUB: (
        "GitHub: repository *Settings → Webhooks → Add webhook*; Payload URL `{url}`, content type "
        "`application/json`, the secret below; events *Deployment statuses*, *Pushes*, *Issues* (label "
        "incidents `incident`), *Workflow runs* (training workflows named like `{pattern}`), *Pull requests* "
        "and *Pull request reviews* (code review)."
    ),
    SourceKind.GITLAB: (
        "GitLab: project *Settings → Webhooks*; URL `{url}`, the token below as *Secret token*; triggers "
        "*Deployment events*, *Push events*, *Issues events* (label incidents `incident`), *Merge request "
        "events* (code review)."
    ),
    SourceKind.MLFLOW: (
        "MLflow 3.3+: create a registry webhook for `model_version.created` and "
        "`model_version_alias.created` pointing at `{url}`, with the secret below."
    ),
    SourceKind.EVENTS: (
        "Any CI: `curl -X POST {url} -H 'Authorization: Bearer TOKEN' -H 'Content-Type: application/json' "
        '-d \'{{"type":"deployment","id":"build-42","at":"2026-12-01T10:00:00Z","sha":"…"}}\'`'
    ),
    SourceKind.ALERTMANAGER: (
        "Alertmanager: add a receiver with a `webhook_configs` entry whose `url` is `{url}` and whose "
        "`http_config.authorization.credentials` is the token below."
    ),
}
HOW_TO_ADD = "Connect a system with `/compass signals add github|gitlab|mlflow|events` here."


def webhook_url(public_url: str | None, path: str) -> str:
    return (public_url.rstrip("/") if public_url else "https://YOUR-HOST") + path


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
    """Shown only to the person who added the source: where to point the system, and its secret, once."""
    s = new.source
    url = webhook_url(public_url, s.path)
    steps = SETUP[s.kind].format(url=url, pattern=s.training_pattern)
    secret = f"\n*Secret:* `{new.secret}`\nIt is shown this once; `compass signals rotate {s.id}` makes a new one."
    text = f":white_check_mark: Added a *{s.kind.value}* source `{s.id}` for <#{s.channel_id}>.\n{steps}{secret}"
    return Message(f"Added a {s.kind.value} source {s.id} for {s.channel_id}", (section(text),))
