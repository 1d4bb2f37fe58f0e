"""The words of `/compass digest`: show the set-up, stop a channel's digest, or send one at a cadence.

Pure: what the words mean and which line explains a mistake; whether the bot may post in the channel
is asked of Slack by the caller."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.errors import CompassError

CADENCES = ("weekly", "monthly", "quarterly")
DEFAULT_CADENCE = "monthly"
PERIOD_NAMES = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}
CHANNEL_MENTION = re.compile(r"^<#(?P<id>[CG][A-Z0-9]+)(\|[^>]*)?>$")


class DigestWordsProblem(CompassError):
    """Words `/compass digest` cannot act on; the detail is the one line to show."""

    user_message = "Use `/compass digest here weekly|monthly|quarterly`, or `/compass digest off`."


@dataclass(frozen=True)
class ShowDigests:
    """No words: the workspace's digests as set up."""


@dataclass(frozen=True)
class StopDigest:
    channel: str


@dataclass(frozen=True)
class SendDigest:
    channel: str
    cadence: str

    @property
    def period_name(self) -> str:
        return PERIOD_NAMES[self.cadence]


DigestCommand = ShowDigests | StopDigest | SendDigest


def mentioned_channel(word: str) -> str | None:
    """The channel id of a mention as Slack escapes it (``<#C123|name>``), else None."""
    match = CHANNEL_MENTION.match(word.strip())
    return match.group("id") if match else None


def parse_digest_command(args: list[str], here: str) -> DigestCommand:
    """`/compass digest [here|#channel|off [#channel]] [weekly|monthly|quarterly]` typed in ``here``.

    Raises DigestWordsProblem with the line that explains what is wrong."""
    if not args:
        return ShowDigests()
    target = args[0].lower()
    if target == "off":
        channel = mentioned_channel(args[1]) if len(args) > 1 else here
        if channel is None:
            raise DigestWordsProblem("Name the channel as a mention, e.g. `/compass digest off #ml-team`.")
        return StopDigest(channel)
    channel = here if target == "here" else mentioned_channel(args[0])
    if channel is None:
        raise DigestWordsProblem(
            f"I don't understand `{args[0][:40]}`. Use `/compass digest here weekly` in the team channel, "
            "or `/compass digest #channel monthly`."
        )
    cadence = args[1].lower() if len(args) > 1 else DEFAULT_CADENCE
    if cadence not in CADENCES:
        raise DigestWordsProblem(f"Choose how often: {', '.join(CADENCES)} (got `{cadence[:20]}`).")
    if channel.startswith("D"):
        raise DigestWordsProblem("Digests go to a team channel: run `/compass digest here` in that channel.")
    return SendDigest(channel, cadence)
