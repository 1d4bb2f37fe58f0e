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
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Literal

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
from bot.slack.work.delivery import Upload

log = logging.getLogger(__name__)

REPORT_COMMENT = "Your result as a radar chart."
PREVIOUS_COMMENT = "Your result as a radar chart: the dashed outline is your previous result."


# Charts are drawn in a child process of their own, below the clicks' priority. Drawn in a worker
# thread, a chart held the worker's GIL for ~0.2 s: when a team finished together, the other people's
# clicks waited behind the pictures (bench/click_path.py: 43 answers/s with charts drawn in the worker,
# 69 without). A picture may wait; a click should not.
CHART_NICENESS = 10
DRAW_TIMEOUT = 60.0  # seconds; a chart that takes longer is given up (logged)
Kind = Literal["radar", "trend", "heatmap"]

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lower_priority() -> None:
    os.nice(CHART_NICENESS)


def _render(kind: Kind, data: RadarData | TrendData | HeatmapData) -> Chart:
    """In the drawing process. Imported here: the web process imports this package (the wiring's handler
    table) and must not load the plotting library (docs/architecture.md)."""
    from bot.charts import render

    drawn: Chart = getattr(render, kind)(data)
    return drawn


def _drawing_process() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the worker has threads (and their locks) that a forked child would inherit.
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_lower_priority)
        return _pool


def draw(kind: Kind, data: RadarData | TrendData | HeatmapData, what: str) -> Chart | None:
    """``render.<kind>(data)``, drawn in the drawing process; None (logged) when drawing fails: a chart
    never costs its message."""
    global _pool
    try:
        return _drawing_process().submit(_render, kind, data).result(timeout=DRAW_TIMEOUT)
    except BrokenProcessPool:
        with _pool_lock:
            _pool = None  # the drawing process died: the next chart starts another
        log.exception("could not draw %s: the drawing process died", what)
        return None
    except Exception:
        log.exception("could not draw %s", what)
        return None


def send_digest_chart(client: WebClient, chart: TrendChart) -> str | None:
    """The team's trend over its last digests (``chart.history``, then the digest in ``chart.thread``),
    targets as stars, as the first reply in the digest's thread. The file's id, or None."""
    if not chart.digest.visible or chart.thread.ts is None:
        return None
    data: TrendData = trend_for_team(chart.digest, chart.history, chart.today, sessions=chart.sessions)
    drawn = draw("trend", data, "the digest's trend chart")
    if drawn is None:
        return None
    n = len(data.periods)
    comment = f"The team's scores over the last {n} digests" if n > 1 else "The team's scores in this first digest"
    marks = [("each target as a star", data.targets), ("the levels sessions agreed as diamonds", data.agreed)]
    shown = [mark for mark, drawn_any in marks if drawn_any]
    comment += (", " + ", ".join(shown) + ".") if shown else "."
    return upload_chart(client, drawn, chart.thread.channel, comment=comment, thread_ts=chart.thread.ts)


def team_radar(digest: Digest, team_channel: str, dm: str) -> Upload | None:
    """`/compass team`: the team's radar (means, and the band from the lowest to the highest member)
    for the asker's DM ``dm``, drawn in the chart lane. None under the respondent threshold."""
    if not digest.visible:
        return None
    data: RadarData = radar_for_team(digest, title=f"Your team now · {digest.period}")
    return Upload(
        f"Your look at <#{team_channel}>: radar chart.",
        channel=dm,
        draw=lambda: draw("radar", data, "the team's radar chart"),
    )


def send_heatmap(client: WebClient, data: HeatmapData, dm: str) -> str | None:
    """One page of the teams' heat map into the asker's DM. The file's id, or None (logged)."""
    chart = draw("heatmap", data, "the teams' heat map")
    if chart is None:
        return None
    return upload_chart(client, chart, dm, comment="Teams at a glance as a heat map.")
