"""The fake Slack's own promises that benchmarks lean on: a waiter learns of a message's change at once."""

from __future__ import annotations

import threading
import time

from fakeslack import BOT_TOKEN, FakeSlack
from harness import request
from slack_sdk import WebClient


def test_wait_for_change_wakes_on_a_post_an_update_and_a_replace_and_gives_up_after_its_timeout() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        channel = "DU0WATCH"
        before = fake.message_version(channel)
        assert before == 0 and fake.wait_for_change(channel, None, before, timeout=0.05) is None

        posted = threading.Timer(0.1, lambda: client.chat_postMessage(channel="U0WATCH", text="one"))
        posted.start()
        started = time.monotonic()
        version = fake.wait_for_change(channel, None, before, timeout=5)
        assert version is not None and time.monotonic() - started < 2
        [message] = fake.dm_messages("U0WATCH")
        assert fake.message_version(channel, message.ts) == version

        client.chat_update(channel=channel, ts=message.ts, text="two")
        updated = fake.wait_for_change(channel, message.ts, version, timeout=5)
        assert updated is not None and updated > version and message.text == "two"

        url = fake.message_response_url("U0WATCH", channel, message.ts)
        body = '{"replace_original": true, "text": "three"}'
        assert request("POST", url, body, {"Content-Type": "application/json"}).status == 200
        replaced = fake.wait_for_change(channel, message.ts, updated, timeout=5)
        assert replaced is not None and replaced > updated and message.text == "three"
        assert fake.wait_for_change(channel, message.ts, replaced, timeout=0.05) is None
