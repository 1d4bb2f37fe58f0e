"""How long a question bank takes to answer, estimated from its word count.

Pure: the estimate reads the texts a person has to read before choosing, nothing else. A
bank's minutes are shown wherever a bank is chosen, so that a lead can weigh a pack's length.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.questionnaire import Question

# Silent reading of English non-fiction averages 238 words per minute (Brysbaert 2019, "How many
# words do we read per minute? A review and meta-analysis of reading rate", Journal of Memory and
# Language 109). Our readers are specialists reading about their own practice, which is the
# meta-analysis's non-fiction case, not skimming.
WORDS_PER_MINUTE = 238
# Beyond reading, choosing among four options and clicking: 5 seconds. Pew Research Center budgets
# about 10 seconds for an ordinary stand-alone web survey question ("How we keep our online surveys
# from running too long", 2022); about half of that is reading a short question and its labels at
# the rate above, so the other half is the decision and the click.
DECISION_SECONDS = 5


def words(text: str) -> int:
    """Words as a reader counts them: runs of text between spaces."""
    return len(text.split())


def question_words(question: Question) -> int:
    """What a person reads before answering: the question and the text of its four options.

    Titles, dimension names and button labels repeat what those texts say in a few words, and the
    next steps come after the answer; none of them is counted.
    """
    return words(question.text) + sum(words(option.text) for option in question.options)


def seconds_to_answer(questions: Iterable[Question]) -> float:
    """Reading time at ``WORDS_PER_MINUTE`` plus ``DECISION_SECONDS`` for each question."""
    total_words = 0
    count = 0
    for question in questions:
        total_words += question_words(question)
        count += 1
    return total_words * 60 / WORDS_PER_MINUTE + count * DECISION_SECONDS


def minutes_to_answer(questions: Iterable[Question]) -> int:
    """The estimate in whole minutes, rounded up: a promise of "5 minutes" should not run over."""
    return math.ceil(seconds_to_answer(questions) / 60)
