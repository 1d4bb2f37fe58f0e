"""The `/compass questions` and bank-upload messages, built without Slack: structure only."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app.banks import BankConflict, BankPreview, BankView, QuestionsView, summarise
from bot.domain.questionnaire import Problem, Questionnaire
from bot.slack import ids
from bot.slack.blocks.banks import build_bank_set_message, build_questions_message, build_upload_problems

AT = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


def _view(small: Questionnaire, shipped: Questionnaire, unfinished: int) -> QuestionsView:
    current = summarise(small, "custom", 3, "U0ADMIN", AT)
    choice = BankPreview(summarise(shipped, "full", 4), current, unfinished, 0)
    return QuestionsView(BankView(current, unfinished, ("full",)), (choice,))


def test_admins_get_a_button_per_pack_confirming_what_happens_to_unfinished_assessments(
    small_bank: Questionnaire, shipped_bank: Questionnaire
) -> None:
    message = build_questions_message(_view(small_bank, shipped_bank, 2), can_change=True, admins=frozenset())
    (actions,) = [b.to_dict() for b in message.blocks if b.type == "actions"]
    (switch,) = actions["elements"]
    assert switch["action_id"] == "bank_switch_full" and ids.decode_bank_switch(switch["value"]) == ("full", 3)
    assert "2 unfinished assessments will carry over the answers to questions both banks share" in str(
        switch["confirm"]["text"]
    )
    assert "Chosen by <@U0ADMIN>" in str([b.to_dict() for b in message.blocks])


def test_anyone_else_sees_the_bank_and_who_can_change_it(
    small_bank: Questionnaire, shipped_bank: Questionnaire
) -> None:
    message = build_questions_message(_view(small_bank, shipped_bank, 0), can_change=False, admins=frozenset({"U0X"}))
    assert not [b for b in message.blocks if b.type == "actions"]
    assert "admins and owners, <@U0X> can change it" in str([b.to_dict() for b in message.blocks])


def test_a_conflict_names_who_changed_the_bank_first(small_bank: Questionnaire) -> None:
    message = build_bank_set_message(BankConflict(summarise(small_bank, "core", 2, "U0FIRST", AT)))
    assert "Nothing was changed: <@U0FIRST> changed the bank first" in message.text


def test_a_long_list_of_problems_is_cut_and_counted() -> None:
    problems = [Problem(f"$.questions[{i}].text", "missing or empty text") for i in range(45)]
    message = build_upload_problems("bank.json", problems)
    listed = str(message.blocks[1].to_dict())
    assert "$.questions[19].text" in listed and "$.questions[20].text" not in listed
    assert "and 25 more" in listed


def test_a_digest_says_which_questions_its_figures_come_from_and_what_was_not_asked(
    small_bank: Questionnaire,
) -> None:
    from bot.domain.digest import DimensionAggregate, TeamAggregate, build_digest
    from bot.slack.blocks.digest import build_digest_message

    def aggregate(respondents: int, data: float, ops: float) -> TeamAggregate:
        dims = (
            DimensionAggregate("data", respondents, data, (1, respondents - 1, 0, 0)),
            DimensionAggregate("ops", respondents, ops, (0, 0, respondents, 0)),
        )
        return TeamAggregate(respondents=respondents, overall_mean=(data + ops) / 2, dimensions=dims, questions=())

    previous = {"overall": 2.0, "dimensions": {"data": 1.5, "prompts": 3.0, "retrieval_data": 2.0}}
    digest = build_digest(
        small_bank, aggregate(4, 2.0, 3.0), members=5, min_respondents=3, period="p", previous=previous, pack="core"
    )
    text = str(build_digest_message(digest, "C0TEAM").as_kwargs()["blocks"])
    assert "Answered on the *core* questions (version test-1)." in text
    assert "Not asked in these questions, so not compared with the last digest: prompts, retrieval data." in text
    plain = build_digest(small_bank, aggregate(4, 2.0, 3.0), members=5, min_respondents=3, period="p")
    assert "Answered on" not in str(build_digest_message(plain, "C0TEAM").as_kwargs()["blocks"])


def test_a_target_the_questions_do_not_ask_says_so_without_figures() -> None:
    from bot.domain.targets import TargetProgress
    from bot.slack.blocks.targets import target_line

    line = target_line(TargetProgress("prompts", "prompts", 3, "2027-Q2", None, None, None, None, asked=False))
    assert line.endswith("*prompts* → L3 by 2027-Q2 · not asked in the questions this workspace answers now")
