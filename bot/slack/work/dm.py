"""The assessment DM and App Home on Slack: a use case's ``DmView`` rendered into the steps that show it
(bot/slack/work/delivery.py sends them)."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.app.types import Completion, DmView, HomeData, NewQuestion, Who
from bot.charts.data import radar_for_report
from bot.slack.blocks.assessment import (
    MOVED,
    build_closed_message,
    build_question_message,
    build_resume_offer,
    build_screen,
)
from bot.slack.blocks.common import Message
from bot.slack.blocks.home import build_home_view
from bot.slack.blocks.report import build_report_message
from bot.slack.blocks.rights import DataPolicy
from bot.slack.deps import Deps
from bot.slack.work.charts import PREVIOUS_COMMENT, REPORT_COMMENT, draw
from bot.slack.work.delivery import Post, PostQuestion, Publish, Replace, Step, Update, Upload

Where = tuple[str, str]


def steps_for(view: DmView, who: Who, clicked: Where | None, deps: Deps) -> list[Step]:
    """Everything ``view`` changes, in the order the person sees it: the clicked message, an older one
    emptied, a new message, the report and its radar, App Home."""
    steps: list[Step] = []
    if view.clicked is not None and clicked is not None:
        steps.append(Replace(*clicked, build_screen(view.clicked).as_kwargs()))
    if view.close is not None:
        steps.append(Update(*view.close, build_closed_message(MOVED).as_kwargs()))
    if isinstance(view.post, NewQuestion):
        progress = view.post.progress
        message = build_question_message(progress).as_kwargs()
        steps.append(
            PostQuestion(
                who.user,
                progress.assessment_id,
                message,
                look_first=view.post.look_first,
                dm_channel=progress.channel_id,
                recorded_ts=progress.message_ts,
            )
        )
    elif view.post is not None:
        steps.append(Post(who.user, build_resume_offer(view.post.progress).as_kwargs()))
    if view.completion is not None:
        steps.extend(report_steps(view.completion, clicked[0] if clicked else who.user))
    if view.home is not None:
        # Before the radar: App Home never waits for a picture (charts go to a lane of their own).
        steps.insert(len(steps) - 1 if view.completion is not None else len(steps), home_step(view.home, who, deps))
    return steps


def report_steps(completion: Completion, channel: str | None) -> list[Step]:
    """The report into the DM, then its radar chart (which the report never waits for)."""
    report = build_report_message(completion.report, completion.measured, completion.contradicted)
    steps: list[Step] = [] if channel is None else [Post(channel, report.as_kwargs())]
    steps.append(radar_step(completion, channel))
    return steps


def radar_step(completion: Completion, channel: str | None) -> Upload:
    data = radar_for_report(completion.report, completion.previous)
    comment = PREVIOUS_COMMENT if any(a.previous is not None for a in data.axes) else REPORT_COMMENT
    return Upload(
        comment,
        channel=channel if channel and not channel.startswith("U") else None,
        draw=lambda: draw("radar", data, "the report's radar chart"),
    )


def home_step(home: HomeData, who: Who, deps: Deps) -> Publish:
    policy = DataPolicy(deps.outreach.min_respondents, deps.retention_days)
    view = build_home_view(home.report, home.history, home.progress, home.teams, policy)
    return Publish(who.user, view.to_dict())


def open_dm(client: WebClient, user_id: str) -> str:
    """The id of the bot's DM channel with a user (conversations.open: Tier 3, so never per click)."""
    response = client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


def post(client: WebClient, channel: str, message: Message) -> str:
    response = client.chat_postMessage(channel=channel, **message.as_kwargs())
    return str(response["ts"])
