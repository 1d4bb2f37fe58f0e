"""Charts the worker (and the scheduler) renders and uploads beside a message: the report's radar,
the digest's trend (in the digest's thread), the team's radar for `/compass team` and the
heat map of `/compass teams` (both into the asker's DM: an upload cannot be ephemeral).

The report goes out first, as its own Block Kit message, and the chart follows it in the same
DM as an upload with a one-line comment. An image block inside the report would have to wait
for Slack to finish sharing the fresh upload (asynchronous: a ``slack_file`` posted at once can
fail with "invalid slack file"), and the upload's own comment is plain text, too little for the
report; so the report never waits for, or depends on, the chart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import ModuleType

from slack_sdk import WebClient

from bot.app.messenger import TrendChart
from bot.charts.data import (
    Chart,
    HeatmapData,
    RadarData,
    TrendData,
    radar_for_team,
    trend_for_team,
)
from bot.domain.digest import Digest
from bot.slack.uploads import upload_chart

log = logging.getLogger(__name__)

REPORT_COMMENT = "Your result as a radar chart."
PREVIOUS_COMMENT = "Your result as a radar chart: the dashed outline is your previous result."


def draw(draw: Callable[[ModuleType], Chart], what: str) -> Chart | None:
    """``draw(render)``, or None (logged) when drawing fails: a chart never costs its message."""
    try:
        # Imported here: the web process imports this package (the wiring's handler table) and
        # must not load the plotting library (docs/architecture.md).
        from bot.charts import render

        return draw(render)
    except Exception:
        log.exception("could not draw %s", what)
        return None


def send_digest_chart(client: WebClient, chart: TrendChart) -> str | None:
    """The team's trend over its last digests (``chart.history``, then the digest in ``chart.thread``),
    targets as stars, as the first reply in the digest's thread. The file's id, or None."""
    if not chart.digest.visible or chart.thread.ts is None:
        return None
    data: TrendData = trend_for_team(chart.digest, chart.history, chart.today)
    drawn = draw(lambda render: render.trend(data), "the digest's trend chart")
    if drawn is None:
        return None
    n = len(data.periods)
    comment = f"The team's scores over the last {n} digests" if n > 1 else "The team's scores in this first digest"
    comment += ", each target as a star." if data.targets else "."
    return upload_chart(client, drawn, chart.thread.channel, comment=comment, thread_ts=chart.thread.ts)


def send_team_radar(client: WebClient, digest: Digest, team_channel: str, dm: str) -> str | None:
    """`/compass team`: the team's radar (means, and the band from the lowest to the highest member)
    into the asker's DM ``dm``. Nothing under the respondent threshold. The file's id, or None."""
    if not digest.visible:
        return None
    data: RadarData = radar_for_team(digest, title=f"Your team now · {digest.period}")
    chart = draw(lambda render: render.radar(data), "the team's radar chart")
    if chart is None:
        return None
    return upload_chart(client, chart, dm, comment=f"Your look at <#{team_channel}>: radar chart.")


def send_heatmap(client: WebClient, data: HeatmapData, dm: str) -> str | None:
    """One page of the teams' heat map into the asker's DM. The file's id, or None (logged)."""
    chart = draw(lambda render: render.heatmap(data), "the teams' heat map")
    if chart is None:
        return None
    return upload_chart(client, chart, dm, comment="Teams at a glance as a heat map.")
