"""Minutes to answer: reading the question and its four options at 238 words a minute, plus 5
seconds a question to choose. The shipped packs' figures are worked out here by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bot.domain.questionnaire import parse_questionnaire
from bot.domain.reading import DECISION_SECONDS, WORDS_PER_MINUTE, minutes_to_answer, seconds_to_answer, words

ROOT = Path(__file__).resolve().parents[2]
SMALL = json.loads((ROOT / "tests" / "data" / "questions_small.json").read_text(encoding="utf-8"))


def test_the_figures_are_the_documented_ones():
    assert (WORDS_PER_MINUTE, DECISION_SECONDS) == (238, 5)


def test_words_are_runs_of_text_between_spaces():
    assert words("Drift on key features is computed on a schedule.") == 9
    assert words("  training-serving  skew,\n reviewed ") == 3
    assert words("") == 0


def one_question_bank(text: str, option_texts: list[str]) -> dict:
    doc = copy.deepcopy(SMALL)
    doc["questions"] = doc["questions"][:1]
    doc["dimensions"] = doc["dimensions"][:1]
    doc["questions"][0]["dimension"] = doc["dimensions"][0]["id"]
    doc["questions"][0]["text"] = text
    for option, option_text in zip(doc["questions"][0]["options"], option_texts, strict=True):
        option["text"] = option_text
    return doc


def test_a_question_costs_its_words_at_the_reading_rate_plus_the_decision_time():
    # 10 words of question and 4 x 6 words of options: 34 words.
    bank = parse_questionnaire(
        one_question_bank(
            "one two three four five six seven eight nine ten",
            ["a b c d e f", "g h i j k l", "m n o p q r", "s t u v w x"],
        )
    )

    assert seconds_to_answer(bank) == pytest.approx(34 * 60 / 238 + 5)  # 13.57 s
    assert minutes_to_answer(bank) == 1  # rounded up
    assert bank.minutes == 1


def test_titles_labels_and_next_steps_are_not_counted():
    doc = one_question_bank("one two three", ["a b c d e f", "g h i j k l", "m n o p q r", "s t u v w x"])
    longer = copy.deepcopy(doc)
    question = longer["questions"][0]
    question["title"] = "A much longer title than before, of many words"
    question["options"][0]["label"] = "A longer label here"
    question["next_steps"]["1"] = "A next step of many more words than the one before it had"

    assert seconds_to_answer(parse_questionnaire(longer)) == seconds_to_answer(parse_questionnaire(doc))


def test_an_estimate_just_over_a_whole_minute_rounds_up():
    # 238 words read in exactly 60 s, + 5 s to choose = 65 s: 2 minutes, never "1 minute".
    text = " ".join(["w"] * 148)
    options = [" ".join(["o"] * 22)] * 3 + [" ".join(["o"] * 24)]
    bank = parse_questionnaire(one_question_bank(text, options))

    assert seconds_to_answer(bank) == pytest.approx(65)
    assert minutes_to_answer(bank) == 2


# Words counted once by hand (question text and the four option texts of every question, split on
# whitespace), and the minutes they give: words x 60 / 238 + 5 s x questions.
#   core:   10 questions,  921 words:  921 x 60 / 238 =  232.2 s + 50 s  = 282.2 s =  4.70 min -> 5
#   full:   26 questions, 2328 words: 2328 x 60 / 238 =  586.9 s + 130 s = 716.9 s = 11.95 min -> 12
#   llmops: 18 questions, 1535 words: 1535 x 60 / 238 =  387.0 s + 90 s  = 477.0 s =  7.95 min -> 8
HAND = {
    "core": (10, 921, 282.18, 5),
    "full": (26, 2328, 716.89, 12),
    "llmops": (18, 1535, 476.97, 8),
}
FILES = {
    "core": ROOT / "packs" / "core.json",
    "full": ROOT / "questions.json",
    "llmops": ROOT / "packs" / "llmops.json",
}


@pytest.mark.parametrize("name", HAND)
def test_the_shipped_packs_take_the_minutes_worked_out_by_hand(name):
    doc = json.loads(FILES[name].read_text(encoding="utf-8"))
    bank = parse_questionnaire(doc)
    count, counted_words, seconds, minutes = HAND[name]
    read = sum(len(q["text"].split()) + sum(len(o["text"].split()) for o in q["options"]) for q in doc["questions"])

    assert (len(bank), read) == (count, counted_words)
    assert seconds_to_answer(bank) == pytest.approx(seconds, abs=0.01)
    assert bank.minutes == minutes


def test_core_takes_at_most_five_minutes_and_full_about_twelve():
    core = parse_questionnaire(json.loads(FILES["core"].read_text(encoding="utf-8")))
    full = parse_questionnaire(json.loads(FILES["full"].read_text(encoding="utf-8")))

    assert core.minutes <= 5
    assert seconds_to_answer(core) <= 5 * 60
    assert 10 <= full.minutes <= 12
