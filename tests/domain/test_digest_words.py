"""The words of `/compass digest`."""

from __future__ import annotations

import pytest

from bot.domain.digest_words import (
    DigestWordsProblem,
    SendDigest,
    ShowDigests,
    StopDigest,
    mentioned_channel,
    parse_digest_command,
)

HERE = "C0TEAM"


def test_no_words_show_the_set_up_and_off_stops_here_or_the_channel_named() -> None:
    assert parse_digest_command([], HERE) == ShowDigests()
    assert parse_digest_command(["off"], HERE) == StopDigest(HERE)
    assert parse_digest_command(["OFF", "<#C0OTHER|ml>"], HERE) == StopDigest("C0OTHER")


def test_here_or_a_channel_with_a_cadence_monthly_unless_said() -> None:
    assert parse_digest_command(["here"], HERE) == SendDigest(HERE, "monthly")
    assert parse_digest_command(["here", "Weekly"], HERE) == SendDigest(HERE, "weekly")
    assert parse_digest_command(["<#G0PRIVATE>", "quarterly"], HERE) == SendDigest("G0PRIVATE", "quarterly")
    assert SendDigest(HERE, "quarterly").period_name == "quarter"


@pytest.mark.parametrize(
    ("words", "here", "said"),
    [
        (["off", "ml-team"], HERE, "Name the channel as a mention"),
        (["#ml-team"], HERE, "I don't understand `#ml-team`"),
        (["here", "daily"], HERE, "Choose how often: weekly, monthly, quarterly (got `daily`)"),
        (["here"], "D0DM", "Digests go to a team channel"),
    ],
)
def test_each_mistake_gets_the_line_that_explains_it(words: list[str], here: str, said: str) -> None:
    with pytest.raises(DigestWordsProblem) as problem:
        parse_digest_command(words, here)
    assert said in problem.value.detail


def test_a_mention_is_read_only_in_slacks_escaped_form() -> None:
    assert mentioned_channel(" <#C123ABC|team> ") == "C123ABC"
    assert mentioned_channel("#team") is None and mentioned_channel("<@U123>") is None
