"""The question banks shipped with Compass (packs), by name.

``full`` is the default bank, questions.json; the others sit in packs/ beside it. Each is a
valid bank (tests/test_packs.py), so a workspace or a terminal can switch to one by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.config import PACK_FILES
from bot.domain.errors import CompassError
from bot.domain.questionnaire import Questionnaire, load_questionnaire

PACKS: dict[str, Path] = PACK_FILES
DEFAULT_PACK = "full"


class UnknownPack(CompassError):
    """A pack name Compass does not ship; the message lists the ones it does."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"There is no pack named {name!r}. The packs are: {', '.join(PACKS)}.")


def pack_path(name: str) -> Path:
    """The file of the pack ``name``; UnknownPack for any other name."""
    try:
        return PACKS[name]
    except KeyError:
        raise UnknownPack(name) from None


# Packs ship with the code and never change while it runs: each is read once per process.
@cache
def load_pack(name: str) -> Questionnaire:
    """The pack ``name`` read and validated (QuestionnaireError if its file was broken)."""
    return load_questionnaire(pack_path(name))


@dataclass(frozen=True)
class BankSummary:
    """What a person choosing a bank is shown of it."""

    name: str
    version: str
    dimensions: int
    questions: int
    minutes: int


def summarize(name: str, bank: Questionnaire) -> BankSummary:
    return BankSummary(name, bank.version, len(bank.dimensions), len(bank), bank.minutes)


def pack_summaries() -> list[BankSummary]:
    """Every pack, in the order of ``PACKS``."""
    return [summarize(name, load_pack(name)) for name in PACKS]
