"""Charts into Slack: slack_sdk's ``files_upload_v2``, never in the way of the message it goes with;
and ``upload_file`` for any file (a person's data export), which says why an upload failed.

An upload needs the ``files:write`` bot scope. Without it, or when the upload fails for any
other reason (an admin disabled uploads, the bot is not in the channel, the network), the
failure is logged in one line (a missing scope once per process, then at debug level) and
the caller carries on without the chart.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

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
    uploaded = upload_file(
        client,
        FileToShare(chart.png, chart.filename, chart.title, chart.alt_text),
        channel,
        comment=comment,
        thread_ts=thread_ts,
        what="chart",
    )
    return uploaded.file_id


@dataclass(frozen=True)
class FileToShare:
    content: bytes
    filename: str
    title: str
    alt_text: str | None = None


@dataclass(frozen=True)
class Uploaded:
    """The shared file's id, or why it was not shared (Slack's error, e.g. ``missing_scope``)."""

    file_id: str | None
    error: str | None = None


def upload_file(
    client: WebClient,
    file: FileToShare,
    channel: str,
    *,
    comment: str | None = None,
    thread_ts: str | None = None,
    what: str = "file",
) -> Uploaded:
    """Share ``file`` in ``channel`` by files_upload_v2; a failure is logged in one line and returned."""
    try:
        response = client.files_upload_v2(
            content=file.content,
            filename=file.filename,
            title=file.title,
            alt_txt=file.alt_text,
            channel=channel,
            initial_comment=comment,
            thread_ts=thread_ts,
        )
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            raise  # over Slack's budget: the caller waits (a job is deferred, the chart lane sleeps)
        error = str(exc.response.get("error") or exc.response.status_code)
        if error == "missing_scope":
            level = logging.DEBUG if _scope_missing.is_set() else logging.WARNING
            _scope_missing.set()
            log.log(
                level,
                "cannot upload files (missing_scope: add the %s bot scope and reinstall the app): "
                "reports and digests go out without their charts, export-me cannot send the file",
                SCOPE,
            )
        else:
            log.warning("%s upload to %s failed (%s)", what, channel, error)
        return Uploaded(None, error)
    except (SlackClientError, OSError) as exc:  # the POST of the bytes, or the network
        log.warning("%s upload to %s failed (%s)", what, channel, exc)
        return Uploaded(None, str(exc) or type(exc).__name__)
    shared = response.get("file") or {}
    return Uploaded(str(shared["id"])) if shared.get("id") else Uploaded(None, "no file in Slack's answer")
