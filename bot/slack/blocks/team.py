"""`/compass team` (the channel's digest now, to the person who asked) and `/compass teams` (every digest
channel side by side, paged), plus the App Home section of the same grid."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, HeaderBlock

from bot.app.digests import TeamNow
from bot.charts.data import HEATMAP_PAGE
from bot.domain.digest import TeamRow, TeamsOverview
from bot.slack import ids
from bot.slack.blocks.common import LEGEND, Message, button, clip, context, emoji, section
from bot.slack.blocks.digest import build_digest_message
from bot.slack.ids import Action

# Rows per message, the same as a heat-map image so that a page's button draws exactly that page:
# 20 rows of ~60 characters stay far below Slack's 3,000 per section.
TEAMS_PAGE = HEATMAP_PAGE
HOME_TEAMS = 10  # rows in App Home; the rest through `/compass teams`


TEAM_CHART_NOTE = "The team's radar chart is on its way to your DM with me: an image cannot be shown to you alone."


def build_team_message(team: TeamNow, channel: str, chart_in_dm: bool = False) -> Message:
    """The digest as it reads right now, under the same threshold; says how to subscribe when the
    channel gets no digest, and that the radar chart follows in the DM when ``chart_in_dm``."""
    digest = build_digest_message(
        team.digest, channel, title=clip(f"Your team now · {team.digest.period}", 150), start_button=False
    )
    if team.cadence is not None:
        note = f"<#{channel}> gets this digest {team.cadence}. Only you can see this message."
    else:
        note = (
            f"<#{channel}> gets no digest yet: its members are counted as the team. "
            "`/compass digest here monthly` (or `weekly`, `quarterly`) posts one regularly. "
            "Only you can see this message."
        )
    notes = (context(TEAM_CHART_NOTE),) if chart_in_dm else ()
    return Message(digest.text, (*digest.blocks, *notes, context(note)))


def team_row(row: TeamRow) -> str:
    """One team: an emoji per dimension, or "not enough answers" and no figure under the threshold."""
    if not row.visible:
        return f"<#{row.channel_id}> :lock: not enough answers yet ({row.respondents} of {row.members})"
    cells = "".join(emoji(level) for level in row.levels)
    overall = f"L{row.level}" if row.level is not None else "not scored"
    return f"<#{row.channel_id}> {cells} {overall} · {row.respondents} of {row.members} answered"


def _columns(overview: TeamsOverview) -> str:
    return "Columns: " + " · ".join(f"{i}. {name}" for i, name in enumerate(overview.dimensions, 1))


def pages(overview: TeamsOverview) -> int:
    return max(1, -(-len(overview.rows) // TEAMS_PAGE))


def build_teams_message(overview: TeamsOverview, page: int = 0) -> Message:
    """`/compass teams`: one page of the grid, with buttons to the pages before and after it."""
    if not overview.rows:
        text = "No channel gets a team digest yet, so there are no teams to compare. `/compass digest here` starts one."
        return Message(text, (section(text),))
    total = pages(overview)
    page = min(max(page, 0), total - 1)
    rows = overview.rows[page * TEAMS_PAGE : (page + 1) * TEAMS_PAGE]
    title = f"Teams at a glance ({len(overview.rows)} teams)"
    blocks: list[Block] = [
        HeaderBlock(text=title),
        context(_columns(overview) + f". Teams under {overview.min_respondents} answers show no figures."),
        section("\n".join(team_row(r) for r in rows)),
    ]
    nav: list[ButtonElement] = []
    if total > 1:
        blocks.append(context(f"Page {page + 1} of {total}"))
        if page > 0:
            nav.append(button("◀ Previous", Action.TEAMS_PREVIOUS, str(page - 1)))
        if page < total - 1:
            nav.append(button("Next ▶", Action.TEAMS_NEXT, str(page + 1)))
    nav.append(heatmap_button(page))
    blocks.append(ActionsBlock(elements=nav, block_id=ids.Block.TEAMS_PAGES))
    blocks.append(context(LEGEND))
    return Message(f"{title}, page {page + 1} of {total}", tuple(blocks))


def heatmap_button(page: int) -> ButtonElement:
    """The heat-map image of this page of the grid, drawn on request and uploaded into the asker's DM."""
    return button("Heat-map image", Action.TEAMS_HEATMAP, str(page))


def teams_home_blocks(overview: TeamsOverview) -> list[Block]:
    """App Home's "Teams at a glance": the first rows of the grid, and where the rest are."""
    if not overview.rows:
        return []
    shown = overview.rows[:HOME_TEAMS]
    lines = "\n".join(team_row(r) for r in shown)
    blocks: list[Block] = [DividerBlock(), section(f"*Teams at a glance*\n{lines}"), context(_columns(overview))]
    if len(overview.rows) > HOME_TEAMS:
        blocks.append(context(f"{len(overview.rows) - HOME_TEAMS} more teams: `/compass teams` shows them all."))
    blocks.append(ActionsBlock(elements=[heatmap_button(0)], block_id=ids.Block.HOME_TEAMS))
    return blocks
