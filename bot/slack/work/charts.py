"""Charts the worker renders and uploads beside a message: the report's radar.

The report goes out first, as its own Block Kit message, and the chart follows it in the same
DM as an upload with a one-line comment. An image block inside the report would have to wait
for Slack to finish sharing the fresh upload (asynchronous: a ``slack_file`` posted at once can
fail with "invalid slack file"), and the upload's own comment is plain text, too little for the
report; so the report never waits for, or depends on, the chart.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.app import results
from bot.app.types import Who
from bot.charts.data import radar_for_report
from bot.slack.deps import Deps
from bot.slack.uploads import upload_chart

log = logging.getLogger(__name__)

REPORT_COMMENT = "Your result as a radar chart."
PREVIOUS_COMMENT = "Your result as a radar chart: the dashed outline is your previous result."


def send_report_chart(client: WebClient, deps: Deps, who: Who, channel: str) -> str | None:
    """Draw the person's latest result (with the previous one) and upload it into ``channel``, their
    DM, after the report. The file's id; None when there is no result or no chart (logged)."""
    latest, previous = results.latest_with_previous(deps.ctx.sessions, who)
    if latest is None:
        return None
    data = radar_for_report(latest, previous)
    try:
        # Imported here: the web process imports this package (the wiring's handler table) and
        # must not load the plotting library (docs/architecture.md).
        from bot.charts import render

        chart = render.radar(data)
    except Exception:  # a chart must never cost the person their report
        log.exception("could not draw the report's radar chart")
        return None
    comment = PREVIOUS_COMMENT if any(a.previous is not None for a in data.axes) else REPORT_COMMENT
    return upload_chart(client, chart, channel, comment=comment)
