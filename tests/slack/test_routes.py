"""The two routing tables: every subcommand and every button reaches its work, and help lists what exists."""

from __future__ import annotations

import json
import re

from bot.slack.ids import ANSWER_PREFIX, Action, Work
from bot.slack.work import BUTTONS, ROUTES, work_for, work_handlers
from bot.slack.work.commands import SUBCOMMANDS, help_lines


def test_every_kind_of_work_has_exactly_one_handler_and_every_button_id_a_route() -> None:
    handlers = work_handlers()
    assert set(handlers) == set(Work)
    for action in Action:
        assert work_for(action.value) in Work
    for level in range(1, 5):
        assert work_for(f"{ANSWER_PREFIX}{level}") is Work.ANSWER
    kinds = {b.kind: b.handler for b in BUTTONS}
    assert all(handlers[kind] is handler for kind, handler in kinds.items())  # one handler per kind


def test_a_button_the_app_never_sends_has_no_route() -> None:
    try:
        work_for("answer_5")
    except KeyError:
        return
    raise AssertionError("answer_5 was routed")


def test_help_lists_every_subcommand_once_in_the_tables_order() -> None:
    lines = help_lines()
    names = [usage.split()[0] for usage, _ in lines]
    assert names == [s.name for s in SUBCOMMANDS if s.help]
    assert len(set(names)) == len(names)
    assert {"start", "report", "digest", "forget-me", "help"} <= set(names)


def test_help_and_forget_me_are_answered_in_the_ack_and_the_rest_is_queued() -> None:
    in_ack = {s.name for s in SUBCOMMANDS if not s.queued}
    assert in_ack == {"help", "forget-me"}
    help_spec = ROUTES.subcommand("help")
    assert help_spec is not None and callable(help_spec.ack)
    shown = json.dumps(help_spec.ack().as_kwargs())
    for spec in SUBCOMMANDS:
        assert re.search(rf"/compass {re.escape(spec.usage)}", shown), spec.name
