"""Which question bank a workspace answers: its own (bot/db/banks.py) or the deployment's default.

Looking one up reads one indexed row per transaction (the current bank's hash); the parsed banks
are kept in the process by hash, so a click pays no parse, and a change made by another process is
seen on the next transaction."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.db import banks
from bot.db.banks import BankRef
from bot.domain.questionnaire import Questionnaire, parse_questionnaire

# Parsed banks kept per process; a bank is a few hundred kB parsed at most (MAX_BANK_BYTES of JSON).
MAX_PARSED_BANKS = 64


@dataclass(frozen=True)
class InUse:
    """A workspace's bank and where it comes from; ``ref`` is None for the deployment's default."""

    bank: Questionnaire
    ref: BankRef | None

    @property
    def name(self) -> str | None:
        """The name recorded on assessments: None for the default bank."""
        return None if self.ref is None else self.ref.name

    @property
    def revision(self) -> int:
        """What a change must expect to replace (0: the default bank, no change stored yet)."""
        return 0 if self.ref is None else self.ref.revision


class Banks:
    """The deployment's default bank and each workspace's own, parsed once per process."""

    def __init__(self, default: Questionnaire, limit: int = MAX_PARSED_BANKS) -> None:
        self.default = default
        self._limit = limit
        self._parsed: OrderedDict[str, Questionnaire] = OrderedDict()
        self._lock = threading.Lock()

    def in_use(self, session: Session, workspace: str | int) -> InUse:
        """``workspace``'s bank: named by its team id (T..., "local") or its row id."""
        ref = banks.current(session, workspace)
        if ref is None:
            return InUse(self.default, None)
        if ref.content_hash == self.default.content_hash:
            return InUse(self.default, ref)
        with self._lock:
            found = self._parsed.get(ref.content_hash)
            if found is not None:
                self._parsed.move_to_end(ref.content_hash)
                return InUse(found, ref)
        # Stored banks were validated when they were set; parsing outside the lock keeps other
        # workspaces' clicks from waiting on it.
        parsed = parse_questionnaire(json.loads(banks.content(session, workspace, ref.revision)))
        self.remember(parsed)
        return InUse(parsed, ref)

    def of(self, session: Session, workspace: str | int) -> Questionnaire:
        """The bank ``workspace`` answers now."""
        return self.in_use(session, workspace).bank

    def remember(self, bank: Questionnaire) -> None:
        with self._lock:
            self._parsed[bank.content_hash] = bank
            self._parsed.move_to_end(bank.content_hash)
            while len(self._parsed) > self._limit:
                self._parsed.popitem(last=False)
