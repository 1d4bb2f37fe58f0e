"""Block Kit builders: structure, and Slack's limits checked by slack_sdk's models."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from slack_sdk.models.blocks import Block

from bot.app.types import HistoryEntry, Progress
from bot.domain.flow import Status
from bot.domain.questionnaire import Questionnaire
from bot.domain.report import build_report, with_change
from bot.domain.scoring import score_answers
from bot.slack import ids
from bot.slack.blocks.assessment import build_question_message, build_resume_offer
from bot.slack.blocks.common import Message, validate_blocks
from bot.slack.blocks.help import build_help_message, build_unknown_command_message
from bot.slack.blocks.home import build_home_view
from bot.slack.blocks.report import build_history_message, build_report_message
from bot.slack.work.commands import help_lines

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def checked(message: Message) -> list[dict]:
    """Serialise through slack_sdk (which enforces element limits) and check the rest."""
    blocks = message.as_kwargs()["blocks"]
    for parsed in Block.parse_all(blocks):
        assert parsed is not None
        parsed.to_dict()
    validate_blocks(blocks)
    assert message.text
    return blocks


def progress_at(bank: Questionnaire, position: int, previous: int | None = None) -> Progress:
    q = bank.questions[position]
    return Progress(
        assessment_id=42,
        status=Status.ASKING,
        position=position,
        total=len(bank),
        question=q,
        dimension_name=bank.dimension(q.dimension).name,
        previous_answer=previous,
        has_previous_answer=previous is not None,
        version=position + 1,
    )


def test_every_shipped_question_fits_slack_limits(shipped_bank: Questionnaire) -> None:
    for position in range(len(shipped_bank)):
        blocks = checked(build_question_message(progress_at(shipped_bank, position), note="✓ previous"))
        answer_buttons = blocks[3]["elements"] if blocks[0]["type"] == "context" else blocks[2]["elements"]
        assert [b["action_id"] for b in answer_buttons] == ["answer_1", "answer_2", "answer_3", "answer_4"]
        assert all(ids.ANSWER_PATTERN.match(b["action_id"]) for b in answer_buttons)


def test_question_message_shows_progress_back_and_na_only_where_allowed(small_bank: Questionnaire) -> None:
    first = checked(build_question_message(progress_at(small_bank, 0)))
    actions = [e["action_id"] for b in first if b["type"] == "actions" for e in b["elements"]]
    assert ids.Action.BACK not in actions and ids.Action.NOT_APPLICABLE not in actions
    assert "Question 1 of 5" in first[-1]["elements"][0]["text"]
    na_position = next(i for i, q in enumerate(small_bank.questions) if q.allow_na)
    later = checked(build_question_message(progress_at(small_bank, na_position, previous=3)))
    actions = [e["action_id"] for b in later if b["type"] == "actions" for e in b["elements"]]
    assert ids.Action.BACK in actions and ids.Action.NOT_APPLICABLE in actions
    styled = [e for b in later if b["type"] == "actions" for e in b["elements"] if e.get("style") == "primary"]
    assert [e["action_id"] for e in styled] == ["answer_3"]


def test_button_values_decode_to_what_they_encode(small_bank: Questionnaire) -> None:
    blocks = checked(build_question_message(progress_at(small_bank, 3)))
    values = [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    decoded = [ids.decode(v) for v in values]
    assert {d.assessment_id for d in decoded} == {42}
    assert {d.question_id for d in decoded} == {small_bank.questions[3].id}
    assert [d.level for d in decoded[:4]] == [1, 2, 3, 4]
    assert any(d.is_na for d in decoded)
    assert {d.question_hash for d in decoded} == {small_bank.questions[3].content_hash}
    with pytest.raises(ids.StaleButton):
        ids.decode("garbage")


def test_button_values_without_a_question_hash_from_older_messages_still_decode() -> None:
    assert ids.decode("v1|42|ops.abtest|na") == ids.ButtonRef(42, "ops.abtest", None, is_na=True)
    assert ids.decode("v1|42|ops.abtest|3") == ids.ButtonRef(42, "ops.abtest", 3)
    for wrong in ("v2|42|ops.abtest|3", "v1|42|ops.abtest|0123456789abcdef|3", "v2|42|ops.abtest|abc|3"):
        with pytest.raises(ids.StaleButton):
            ids.decode(wrong)


def test_the_notice_of_an_edited_bank_comes_first_in_the_question_and_in_the_resume_offer(
    small_bank: Questionnaire,
) -> None:
    notice = (
        "The questionnaire changed since you started: 12 questions are new, 11 questions you answered have changed, "
        "10 questions you answered were removed, 9 earlier answers could not be checked against the new version; "
        "your 13 other answers were kept."
    )
    progress = replace(progress_at(small_bank, 2, previous=3), notice=notice)

    question = checked(build_question_message(progress, note="✓ previous"))
    offer = checked(build_resume_offer(progress))

    assert question[0]["block_id"].startswith("notice.") and question[0]["elements"][0]["text"] == notice
    assert question[1]["block_id"].startswith("note.")
    assert notice in offer[0]["text"]["text"] and notice in build_resume_offer(progress).text


def report_for(bank: Questionnaire, level: int, previous_level: int | None = None):  # type: ignore[no-untyped-def]
    report = build_report(score_answers(bank, {q.id: level for q in bank.questions}), bank.version, NOW)
    if previous_level is None:
        return report
    before = build_report(score_answers(bank, {q.id: previous_level for q in bank.questions}), bank.version, NOW)
    return with_change(report, before)


@pytest.mark.parametrize("level,emoji", [(1, "🔴"), (2, "🟠"), (3, "🟡"), (4, "🟢")])
def test_report_uses_the_colored_emoji_of_each_level(shipped_bank: Questionnaire, level: int, emoji: str) -> None:
    blocks = checked(build_report_message(report_for(shipped_bank, level)))
    overall = blocks[1]["text"]["text"]
    assert overall.startswith(emoji) and f"Level {level}" in overall
    dimension_lines = blocks[2]["text"]["text"].splitlines()
    assert len(dimension_lines) == len(shipped_bank.dimensions)
    assert all(line.startswith(emoji) for line in dimension_lines)


def test_report_shows_change_since_previous(shipped_bank: Questionnaire) -> None:
    up = checked(build_report_message(report_for(shipped_bank, 3, previous_level=2)))
    assert "▲ +1.00" in up[1]["text"]["text"]
    down = checked(build_report_message(report_for(shipped_bank, 2, previous_level=3)))
    assert "▼ -1.00" in down[1]["text"]["text"]


def test_home_view_for_new_user_in_progress_and_with_history(shipped_bank: Questionnaire) -> None:
    new = build_home_view(None, [], None).to_dict()
    assert [e["action_id"] for b in new["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["start"]
    busy = build_home_view(None, [], progress_at(shipped_bank, 4)).to_dict()
    assert [e["action_id"] for b in busy["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "resume",
        "start_over",
    ]
    history = [HistoryEntry(i, NOW, 2.0 + i / 10, 2, 0.1, "v") for i in range(30)]
    full = build_home_view(report_for(shipped_bank, 2, 1), history, None).to_dict()
    assert len(full["blocks"]) <= 100
    assert "Latest result" in str(full) and "▲" in str(full)


def test_help_history_and_unknown_command_messages_fit_limits() -> None:
    checked(build_help_message(help_lines()))
    checked(build_unknown_command_message("x" * 500, help_lines()))
    checked(build_history_message([HistoryEntry(1, NOW, 2.5, 3, None, "v")]))
    checked(build_history_message([]))


def test_resume_offer_names_the_question(small_bank: Questionnaire) -> None:
    blocks = checked(build_resume_offer(progress_at(small_bank, 2)))
    assert "question 3 of 5" in blocks[0]["text"]["text"]


def test_a_question_with_evidence_shows_one_line_and_highlights_the_levels_it_fits(small_bank: Questionnaire) -> None:
    from bot.domain.evidence import Evidence, Measurement

    evidence = Evidence(
        "C0TEAM",
        90,
        (
            Measurement("deployment_frequency", "41 production deployments (daily)", "daily"),
            Measurement("lead_time", "median lead time 6 h", "under_a_day"),
        ),
        low=3,
        high=4,
    )
    blocks = checked(build_question_message(replace(progress_at(small_bank, 1), evidence=evidence)))
    lines = [b["elements"][0]["text"] for b in blocks if b.get("block_id", "").startswith("evidence.")]
    assert lines == [
        "📊 <#C0TEAM>, last 90 days: 41 production deployments (daily), median lead time 6 h: that fits level 3-4"
    ]
    answers = next(b for b in blocks if b.get("block_id", "").startswith("answers."))["elements"]
    assert [e.get("style") for e in answers] == [None, None, "primary", "primary"]
    assert [e["text"]["text"].startswith("📊 ") for e in answers] == [False, False, True, True]
    after_back = checked(build_question_message(replace(progress_at(small_bank, 1, previous=1), evidence=evidence)))
    answers = next(b for b in after_back if b.get("block_id", "").startswith("answers."))["elements"]
    assert [e.get("style") for e in answers] == ["primary", None, None, None]  # the earlier answer stays marked


def test_the_digest_shows_what_was_measured_and_flags_a_disagreement(shipped_bank: Questionnaire) -> None:
    from bot.domain.digest import Digest, TeamDimension
    from bot.domain.evidence import Measurement
    from bot.domain.measured import build_measured
    from bot.slack.blocks.digest import build_digest_message

    measured = {
        "deployment_frequency": Measurement("deployment_frequency", "2 production deployments (monthly)", "monthly"),
        "lead_time": Measurement("lead_time", "median lead time 12 days", "under a month"),
    }
    answers = {"deployment.automation": 4.0}
    section = build_measured(shipped_bank, measured, "C0TEAM", 90, answers)
    alone = build_measured(shipped_bank, measured, "C0TEAM", 90)
    hidden = Digest(period="2026-11", members=9, respondents=2, min_respondents=5, measured=alone)
    text = json.dumps(checked(build_digest_message(hidden, "C0TEAM")))
    assert "2 production deployments (monthly)" in text and "self-assessed" not in text  # measured, nothing personal
    dims = (TeamDimension("deployment", "Deployment & Automation", 3.0, 3, (0, 1, 3, 2), None),)
    visible = Digest(
        period="2026-11", members=9, respondents=6, min_respondents=5, overall=3.0, level=3, dimensions=dims
    )
    blocks = checked(build_digest_message(replace(visible, measured=section), "C0TEAM"))
    body = json.dumps(blocks, ensure_ascii=False)
    assert "*Measured* in <#C0TEAM>, last 90 days" in body and "median lead time 12 days" in body
    title = shipped_bank.question("deployment.automation").title
    assert f":warning: *{title}*: self-assessed 🟢 L4, measured 🟠 L2" in body


def test_the_report_shows_the_measured_line_under_a_dimension_with_evidence(small_bank: Questionnaire) -> None:
    from bot.domain.evidence import Evidence, Measurement

    score = score_answers(small_bank, {q.id: 2 for q in small_bank})
    report = build_report(score, small_bank.version, NOW)
    first = report.dimensions[0]
    evidence = Evidence("C0TEAM", 90, (Measurement("lead_time", "median lead time 6 h", "under_a_day"),), 3, 4)
    body = json.dumps(checked(build_report_message(report, {first.id: evidence})), ensure_ascii=False)
    assert "📊 measured in <#C0TEAM>, last 90 days: median lead time 6 h: fits L3-L4" in body
    assert body.count("📊 measured") == 1
