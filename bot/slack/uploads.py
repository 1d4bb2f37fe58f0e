"""Charts into Slack: slack_sdk's ``files_upload_v2``, never in the way of the message it goes with.

An upload needs the ``files:write`` bot scope. Without it, or when the upload fails for any
other reason (an admin disabled uploads, the bot is not in the channel, the network), the
failure is logged in one line (a missing scope once per process, then at debug level) and
the caller carries on without the chart.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.charts.data import Chart

log = logging.getLogger(__name__)

SCOPE = "files:write"
_scope_missing = threading.Event()  # set once Slack answered missing_scope


def scope_missing() -> bool:
    """Slack has answered missing_scope in this process: an upload now would fail the same way."""
    return _scope_missing.is_set()


def upload_chart(
    client: WebClient, chart: Chart, channel: str, comment: str | None = None, thread_ts: str | None = None
) -> str | None:
    """Share ``chart`` in ``channel`` (a DM or a channel; in a thread with ``thread_ts``), with
    ``comment`` as the message above it. The file's id, or None when the upload failed (logged)."""
    try:
        response = client.files_upload_v2(
            content=chart.png,
            filename=chart.filename,
            title=chart.title,
            alt_txt=chart.alt_text,
            channel=channel,
            initial_comment=comment,
            thread_ts=thread_ts,
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == "missing_scope":
            level = logging.DEBUG if _scope_missing.is_set() else logging.WARNING
            _scope_missing.set()
            log.log(
                level,
                "cannot upload charts (missing_scope: add the %s bot scope and reinstall the app): "
                "reports and digests go out without them",
                SCOPE,
            )
        else:
            log.warning("chart upload to %s failed (%s): the message went out without it", channel, error)
        return None
    except (SlackClientError, OSError) as exc:  # the POST of the bytes, or the network
        log.warning("chart upload to %s failed (%s): the message went out without it", channel, exc)
        return None
    file = response.get("file") or {}
    return str(file.get("id")) if file.get("id") else None
