"""A workspace's question bank: what is in use, a preview of another, and changing it.

A change is stored as the workspace's next revision and applies only when the bank in use is still
the one the person saw (``expected``: its revision, 0 for the deployment's default): of two admins
who change it at once, one wins and the other is told who came first. Unfinished assessments are
not touched: each carries over the answers to questions both banks share on its next click
(bot/domain/rebase.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.app.bank_registry import InUse
from bot.app.context import AppContext
from bot.app.packs import UnknownPack
from bot.config import pack_names, pack_path
from bot.db import banks
from bot.db.banks import RevisionTaken
from bot.domain.errors import CompassError
from bot.domain.questionnaire import Problem, Questionnaire, QuestionnaireError, parse_questionnaire

# A bank is text shown in Slack: the shipped one is ~60 kB; four times that leaves room for a
# custom bank twice as long with longer texts, and keeps a pasted log file or an image out.
MAX_BANK_BYTES = 256_000
CUSTOM = "custom"
DEFAULT = "default"  # how the deployment's own bank (COMPASS_QUESTIONS) is named to people


class BankFileChanged(CompassError):
    """The file applied is not the one previewed (edited or replaced since)."""

    user_message = "That file changed since its preview, so nothing was changed: share it again to see the new one."


def bank_text(data: bytes, size: int | None = None, source: str = "question bank") -> str:
    """A shared file's bytes as a bank's text: QuestionnaireError when it is too large (``size``, as
    Slack reported it, is checked before anything was downloaded) or not UTF-8."""
    size = len(data) if size is None else size
    if size > MAX_BANK_BYTES:
        raise QuestionnaireError([Problem("$", f"too large: {size} bytes, at most {MAX_BANK_BYTES}")], source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QuestionnaireError([Problem("$", "not valid JSON: not UTF-8 text")], source) from exc


@dataclass(frozen=True)
class DimensionSummary:
    id: str
    name: str
    questions: int


@dataclass(frozen=True)
class BankSummary:
    """What a bank is, as `/compass questions` and `compass questions show` print it."""

    name: str
    version: str
    content_hash: str
    dimensions: tuple[DimensionSummary, ...]
    questions: int
    revision: int  # what a change expects to replace
    set_by: str | None = None
    set_at: datetime | None = None
    minutes: int = 0  # to answer it all (bot/domain/reading.py)


@dataclass(frozen=True)
class BankView:
    """The workspace's bank in use, how many assessments are unfinished, and the packs to switch to."""

    current: BankSummary
    unfinished: int
    packs: tuple[str, ...]


@dataclass(frozen=True)
class BankPreview:
    """A bank about to replace the one in use: what it is, and what the switch does."""

    bank: BankSummary
    current: BankSummary
    unfinished: int
    shared: int  # questions of the new bank an unfinished assessment's answer carries over to

    @property
    def consequence(self) -> str:
        if not self.unfinished:
            return "No assessment is unfinished: everyone answers the new bank from their next start."
        people = "1 unfinished assessment" if self.unfinished == 1 else f"{self.unfinished} unfinished assessments"
        return (
            f"{people} will carry over the answers to questions both banks share "
            f"({self.shared} of {self.bank.questions}) on their next click; the other questions are asked."
        )


@dataclass(frozen=True)
class BankSet:
    """The change was applied."""

    bank: BankSummary
    previous: BankSummary
    unfinished: int


@dataclass(frozen=True)
class BankConflict:
    """Someone changed the bank after the person looked: nothing was changed."""

    current: BankSummary


def summarise(
    bank: Questionnaire, name: str, revision: int, by: str | None = None, at: datetime | None = None
) -> BankSummary:
    dims = tuple(DimensionSummary(d.id, d.name, len(bank.questions_in(d.id))) for d in bank.dimensions)
    return BankSummary(name, bank.version, bank.content_hash, dims, len(bank), revision, by, at, bank.minutes)


def _summary(in_use: InUse) -> BankSummary:
    ref = in_use.ref
    if ref is None:
        return summarise(in_use.bank, DEFAULT, 0)
    return summarise(in_use.bank, ref.name, ref.revision, ref.set_by, ref.set_at)


def parse_document(document: str | bytes, source: str = "question bank") -> Questionnaire:
    """Validate a bank document as uploaded or read: its size, its JSON, then every rule of the
    checker; QuestionnaireError lists each problem with its JSON path."""
    size = len(document.encode("utf-8") if isinstance(document, str) else document)
    if size > MAX_BANK_BYTES:
        raise QuestionnaireError([Problem("$", f"too large: {size} bytes, at most {MAX_BANK_BYTES}")], source)
    try:
        data = json.loads(document)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise QuestionnaireError([Problem("$", f"not valid JSON: {message}{where}")], source) from exc
    return parse_questionnaire(data, source=source)


def pack_document(name: str) -> str:
    """The JSON text of the pack called ``name``; UnknownPack (listing the packs) when there is none."""
    path = pack_path(name)
    if path is None:
        raise UnknownPack(name)
    return Path(path).read_text(encoding="utf-8")


def bank_view(ctx: AppContext, workspace: str) -> BankView:
    with ctx.sessions.begin() as session:
        in_use = ctx.banks.in_use(session, workspace)
        unfinished = banks.unfinished(session, workspace)
    return BankView(_summary(in_use), unfinished, pack_names())


def _shared(old: Questionnaire, new: Questionnaire) -> int:
    return sum(1 for q in new if old.has_question(q.id) and old.question(q.id).content_hash == q.content_hash)


def preview(ctx: AppContext, workspace: str, name: str, document: str) -> BankPreview:
    """What switching ``workspace`` to ``document`` would be; QuestionnaireError when it is invalid."""
    bank = parse_document(document, name)
    with ctx.sessions.begin() as session:
        in_use = ctx.banks.in_use(session, workspace)
        unfinished = banks.unfinished(session, workspace)
    current = _summary(in_use)
    new = summarise(bank, name, current.revision + 1)
    return BankPreview(new, current, unfinished, _shared(in_use.bank, bank))


def set_bank(
    ctx: AppContext,
    workspace: str,
    name: str,
    document: str,
    *,
    by: str,
    now: datetime,
    expected_version: int,
    content_hash: str | None = None,
) -> BankSet | BankConflict:
    """Make ``document`` (a pack's text or a custom bank) the workspace's bank, if the bank in use is
    still revision ``expected_version``; QuestionnaireError (every problem located) when the document
    is invalid, and nothing changes. ``content_hash``: the bank previewed, which ``document`` must
    still be (BankFileChanged otherwise)."""
    bank = parse_document(document, name)
    if content_hash is not None and bank.content_hash != content_hash:
        raise BankFileChanged()
    with ctx.sessions.begin() as session:
        banks.lock_workspace(session, workspace, now)
        in_use = ctx.banks.in_use(session, workspace)
        if in_use.revision != expected_version:
            return BankConflict(_summary(in_use))
        try:
            banks.add(
                session,
                workspace,
                expected_version + 1,
                name=name,
                version=bank.version,
                document=document,
                content_hash=bank.content_hash,
                by=by,
                now=now,
            )
        except RevisionTaken:
            return BankConflict(_summary(ctx.banks.in_use(session, workspace)))
        unfinished = banks.unfinished(session, workspace)
    ctx.banks.remember(bank)
    return BankSet(summarise(bank, name, expected_version + 1, by, now), _summary(in_use), unfinished)


@dataclass(frozen=True)
class QuestionsView:
    """`/compass questions`: the bank in use, and for each pack what switching to it would do."""

    current: BankView
    choices: tuple[BankPreview, ...]


def questions_view(ctx: AppContext, workspace: str) -> QuestionsView:
    """The workspace's bank and a preview per pack (the pack in use left out), in one transaction."""
    packs = [(name, parse_document(pack_document(name), name)) for name in pack_names()]
    with ctx.sessions.begin() as session:
        in_use = ctx.banks.in_use(session, workspace)
        unfinished = banks.unfinished(session, workspace)
    current = _summary(in_use)
    choices = tuple(
        BankPreview(summarise(bank, name, current.revision + 1), current, unfinished, _shared(in_use.bank, bank))
        for name, bank in packs
        if bank.content_hash != in_use.bank.content_hash
    )
    return QuestionsView(BankView(current, unfinished, pack_names()), choices)


def switch_to_pack(
    ctx: AppContext, workspace: str, pack: str, *, by: str, now: datetime, expected_version: int
) -> BankSet | BankConflict:
    """Switch the workspace to a shipped pack (UnknownPack when there is none of that name)."""
    return set_bank(ctx, workspace, pack, pack_document(pack), by=by, now=now, expected_version=expected_version)
