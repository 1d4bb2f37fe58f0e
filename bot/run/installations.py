"""Installations of the distributed app (OAuth), in the app's own database.

slack_sdk's SQLAlchemy stores on the app's engine, their tables created by Alembic (revision
0013) like every other table. Tokens are encrypted at rest with Fernet when
COMPASS_ENCRYPTION_KEY is set; several comma-separated keys are accepted (MultiFernet): the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and running
`compass db reencrypt` (reencrypt below), which re-encrypts every stored token with it.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine, MetaData, String, Table, and_, desc, select

from bot.slack.tokens import NotInstalled, Tenant

log = logging.getLogger(__name__)

STATE_EXPIRATION_SECONDS = 600  # the state cookie's Max-Age and the state row's lifetime: the same number
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# slack_sdk's token columns hold 200 characters; a Fernet token of a rotating token (xoxe.xoxb-...) is
# longer, so these columns are widened (the only difference from the stores' own tables).
TOKEN_LENGTH = 1000
PREFIX = "fernet:"  # marks an encrypted value; a token stored before a key was set still reads as it is


class EncryptionKeyProblem(ValueError):
    """A stored token cannot be decrypted with any of the keys in COMPASS_ENCRYPTION_KEY."""


class Cipher:
    """Encrypts tokens with the first key, decrypts with any (Fernet keys, comma-separated)."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None

    def encrypt(self, value: str | None) -> str | None:
        if value is None or self._fernet is None or value.startswith(PREFIX):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str | None) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        if self._fernet is None:
            raise EncryptionKeyProblem("a stored token is encrypted but COMPASS_ENCRYPTION_KEY is not set")
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise EncryptionKeyProblem(
                "a stored token cannot be decrypted with any key in COMPASS_ENCRYPTION_KEY"
            ) from None

    def reencrypt(self, value: str | None) -> str | None:
        """The value encrypted with the first key: a Fernet token rotated, a plain token encrypted."""
        if value is None:
            return None
        if self._fernet is None:
            raise EncryptionKeyProblem("COMPASS_ENCRYPTION_KEY is not set")
        if not value.startswith(PREFIX):
            return PREFIX + self._fernet.encrypt(value.encode()).decode()
        try:
            return PREFIX + self._fernet.rotate(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise EncryptionKeyProblem(
                "a stored token cannot be decrypted with any key in COMPASS_ENCRYPTION_KEY"
            ) from None


def _widen(table: Table) -> Table:
    for name in TOKEN_COLUMNS:
        if name in table.c:
            table.c[name].type = String(TOKEN_LENGTH)
    return table


class CompassInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's store, with the token columns encrypted (when a key is set) and wide enough for that."""

    @classmethod
    def build_installations_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widen(super().build_installations_table(metadata, table_name))

    @classmethod
    def build_bots_table(cls, metadata: MetaData, table_name: str) -> Table:
        return _widen(super().build_bots_table(metadata, table_name))

    def __init__(self, client_id: str, engine: Engine, cipher: Cipher | None = None) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=logging.getLogger(__name__))
        self.cipher = cipher or Cipher(())

    def _sealed(self, item: Any) -> Any:
        sealed = copy.copy(item)
        for name in TOKEN_COLUMNS:
            if hasattr(sealed, name):
                setattr(sealed, name, self.cipher.encrypt(getattr(sealed, name)))
        return sealed

    def save(self, installation: Installation) -> None:
        sealed = self._sealed(installation)
        try:
            super().save(sealed)
        except Exception:
            # slack_sdk stores the installation and then its bot in two transactions: when the
            # bot's fails, the installation's row comes back out, so a failed install leaves nothing.
            self._take_back(sealed)
            raise

    def _take_back(self, installation: Installation) -> None:
        c = self.installations.c
        at = normalize_datetime_for_db(installation.to_dict().get("installed_at"))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    self.installations.delete().where(
                        c.client_id == self.client_id,
                        c.enterprise_id == installation.enterprise_id,
                        c.team_id == installation.team_id,
                        c.installed_at == at,
                    )
                )
        except Exception as exc:  # the database itself may be what failed: the first error is the news
            log.warning("could not take back a half-stored installation of %s: %s", installation.team_id, exc)

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._sealed(bot))

    def build_installation_entity(self, row: Any) -> Installation:  # type: ignore[override]
        return super().build_installation_entity(self._opened(row))

    def build_bot_entity(self, row: Any) -> Bot:  # type: ignore[override]
        return super().build_bot_entity(self._opened(row))

    def _opened(self, row: Any) -> dict[str, Any]:
        values = dict(row)
        for name in TOKEN_COLUMNS:
            if name in values:
                values[name] = self.cipher.decrypt(values[name])
        return values


def store_metadata() -> MetaData:
    """The tables of the installation and state stores, for Alembic's schema check (migrations/env.py)."""
    metadata = MetaData()
    CompassInstallationStore.build_installations_table(metadata, "slack_installations")
    CompassInstallationStore.build_bots_table(metadata, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, "slack_oauth_states")
    return metadata


@dataclass(frozen=True)
class Reencrypted:
    """What `compass db reencrypt` did: rows and tokens rewritten, how many of those were plain text."""

    installation_rows: int
    bot_rows: int
    tokens: int
    were_plain: int

    def __str__(self) -> str:
        return (
            f"re-encrypted {self.tokens} token(s) with the first key of COMPASS_ENCRYPTION_KEY "
            f"({self.were_plain} of them stored in plain text until now) "
            f"in {self.installation_rows} installation row(s) and {self.bot_rows} bot row(s)"
        )


def reencrypt(engine: Engine, cipher: Cipher) -> Reencrypted:
    """Every stored token (of every client id) encrypted with the cipher's first key, in one transaction.

    All or nothing: a token no key decrypts raises EncryptionKeyProblem naming its row, before anything
    is written. The rows are locked first (FOR UPDATE on PostgreSQL, bots before installations as a
    token refresh takes them; SQLite's BEGIN IMMEDIATE write lock), so a refresh running meanwhile
    waits rather than having its new token overwritten by the old one.
    """
    metadata = store_metadata()
    order = (("slack_bots", "bot"), ("slack_installations", "installation"))
    counts = {"bot": 0, "installation": 0}
    tokens = plain = 0
    with engine.begin() as conn:
        updates: list[tuple[Table, int, dict[str, str | None]]] = []
        for table_name, kind in order:
            table = metadata.tables[table_name]
            columns = [table.c[name] for name in TOKEN_COLUMNS if name in table.c]
            query = select(table.c.id, table.c.team_id, table.c.enterprise_id, *columns).order_by(table.c.id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            for row in conn.execute(query).mappings():
                values: dict[str, str | None] = {}
                for column in columns:
                    old = row[column.name]
                    if old is None:
                        continue
                    try:
                        values[column.name] = cipher.reencrypt(old)
                    except EncryptionKeyProblem:
                        where = row["team_id"] or row["enterprise_id"]
                        raise EncryptionKeyProblem(
                            f"the {column.name} of {table_name} row {row['id']} (workspace {where}) cannot be "
                            "decrypted with any key in COMPASS_ENCRYPTION_KEY; nothing was re-encrypted"
                        ) from None
                    tokens += 1
                    plain += not old.startswith(PREFIX)
                if values:
                    updates.append((table, row["id"], values))
                    counts[kind] += 1
        for table, row_id, values in updates:
            conn.execute(table.update().where(table.c.id == row_id).values(**values))
    return Reencrypted(counts["installation"], counts["bot"], tokens, plain)


@dataclass(frozen=True)
class Installed:
    """One installed workspace or Enterprise Grid organisation (team_id None: an org-wide install)."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool
    installed_at: datetime


class Installations:
    """The stores, and the few queries the stores lack: every installation, the latest install time."""

    def __init__(self, client_id: str, engine: Engine, cipher: Cipher | None = None) -> None:
        self.engine = engine
        self.store = CompassInstallationStore(client_id, engine, cipher)
        self.states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)

    def installed(self) -> list[Installed]:
        """Every workspace and organisation with a bot token, newest install of each."""
        c = self.store.bots.c
        query = (
            select(c.enterprise_id, c.team_id, c.is_enterprise_install, sqlalchemy.func.max(c.installed_at))
            .where(c.client_id == self.store.client_id, c.bot_token.is_not(None))
            .group_by(c.enterprise_id, c.team_id, c.is_enterprise_install)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return sorted(
            (Installed(e, t, bool(org), _aware(at)) for e, t, org, at in rows),
            key=lambda i: (i.enterprise_id or "", i.team_id or ""),
        )

    def latest_installed_at(self, enterprise_id: str | None, team_id: str | None) -> datetime | None:
        c = self.store.bots.c
        query = (
            select(c.installed_at)
            .where(and_(c.client_id == self.store.client_id, c.enterprise_id == enterprise_id, c.team_id == team_id))
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else _aware(found)

    def forget_expired_states(self, now: datetime) -> int:
        """The state store never deletes expired states; the housekeeping does."""
        table = self.states.oauth_states
        with self.engine.begin() as conn:
            result = conn.execute(table.delete().where(table.c.expire_at < now.astimezone(UTC).replace(tzinfo=None)))
        return int(result.rowcount or 0)


def _aware(value: datetime) -> datetime:
    """The stores' columns are naive UTC (slack_sdk strips tzinfo before writing)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class InstalledTokens:
    """The distributed mode's TokenSource (bot/slack/tokens.py): each workspace's bot token from the store.

    A rotating token (it has a refresh token) is refreshed through slack_sdk's TokenRotator before it
    expires, under a lock on its row (SELECT ... FOR UPDATE on PostgreSQL, the write lock that
    BEGIN IMMEDIATE takes on SQLite), so two processes never spend the single-use refresh token twice.
    """

    def __init__(
        self,
        installations: Installations,
        make_client: Callable[[str, str | None], WebClient],
        client_secret: str,
        minutes_before_expiration: int = 120,
    ) -> None:
        self.installations = installations
        self.make_client = make_client
        # oauth.v2.access (grant_type=refresh_token) goes through SLACK_API_URL like every other call.
        rotating = make_client("", None)
        rotating.token = None
        self.rotator = TokenRotator(
            client_id=installations.store.client_id, client_secret=client_secret, client=rotating
        )
        self.minutes = minutes_before_expiration

    def client_for(self, tenant: Tenant) -> WebClient:
        org = tenant.is_enterprise_install
        bot = self.installations.store.find_bot(
            enterprise_id=tenant.enterprise_id, team_id=tenant.team_id, is_enterprise_install=org
        )
        if bot is None or not bot.bot_token:
            raise NotInstalled(f"no installation for workspace {tenant.team_id or tenant.enterprise_id}")
        if self.due(bot):
            bot = self.rotate(bot)
        # An org-wide token needs the workspace named in every call (Slack ignores it for workspace tokens).
        return self.make_client(bot.bot_token or "", tenant.team_id if org else None)

    def due(self, bot: Bot) -> bool:
        if not bot.bot_refresh_token or bot.bot_token_expires_at is None:
            return False
        return bot.bot_token_expires_at <= time.time() + self.minutes * 60

    def rotate(self, bot: Bot) -> Bot:
        """Refresh the bot token under the row lock; whoever holds it second finds it fresh and uses it."""
        store = self.installations.store
        bots, c = store.bots, store.bots.c
        latest = (
            select(bots)
            .where(c.client_id == store.client_id, c.enterprise_id == bot.enterprise_id, c.team_id == bot.team_id)
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        with self.installations.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                latest = latest.with_for_update()
            row = conn.execute(latest).mappings().first()
            if row is None:
                raise NotInstalled(f"the installation of {bot.team_id or bot.enterprise_id} was deleted")
            current = store.build_bot_entity(row)
            if not self.due(current):
                return current  # another process refreshed it while this one waited for the lock
            refreshed = self.rotator.perform_bot_token_rotation(bot=current, minutes_before_expiration=self.minutes)
            if refreshed is None:
                return current
            cipher = store.cipher
            values = {
                "bot_token": cipher.encrypt(refreshed.bot_token),
                "bot_refresh_token": cipher.encrypt(refreshed.bot_refresh_token),
                "bot_token_expires_at": _naive(refreshed.bot_token_expires_at),
            }
            conn.execute(bots.update().where(c.id == row["id"]).values(**values))
            i = store.installations.c
            conn.execute(
                store.installations.update()
                .where(
                    i.client_id == store.client_id,
                    i.enterprise_id == bot.enterprise_id,
                    i.team_id == bot.team_id,
                    i.bot_user_id == refreshed.bot_user_id,
                )
                .values(**values)
            )
            log.info("refreshed the bot token of %s", bot.team_id or bot.enterprise_id)
            return refreshed

    def tenants(self) -> list[Tenant]:
        """Every installed workspace; an org-wide install stands for each workspace it was added to."""
        found: list[Tenant] = []
        for item in self.installations.installed():
            if not item.is_enterprise_install:
                found.append(Tenant(item.enterprise_id, item.team_id))
                continue
            org = Tenant(item.enterprise_id, None, True)
            try:
                teams = self.client_for(org).auth_teams_list(limit=1000).get("teams") or []
            except Exception as exc:
                log.warning("could not list the workspaces of organisation %s: %s", item.enterprise_id, exc)
                continue
            found.extend(Tenant(item.enterprise_id, str(t["id"]), True) for t in teams)
        return found


def _naive(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)
