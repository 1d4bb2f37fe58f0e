"""The ``receivers:`` entry that points Prometheus Alertmanager at a Compass source, to paste into
alertmanager.yml. Pure text, so the terminal and Slack can show the same."""

from __future__ import annotations

import json

RECEIVER_NAME = "compass"
TOKEN_PLACEHOLDER = "<the source's token>"


def _quoted(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: safe whatever token someone chose.
    return json.dumps(value)


def alertmanager_receiver_yaml(url: str, token: str | None) -> str:
    """The receiver (webhook with a bearer token, resolved alerts sent, no truncation) and the route
    that sends every alert to it as well as to the receivers already configured.

    Args:
        url: the source's full webhook URL (or one with a placeholder host).
        token: the source's token; None when it is not shown (chosen by the user), for a placeholder.
    """
    credentials = _quoted(token or TOKEN_PLACEHOLDER)
    return "\n".join(
        [
            "receivers:",
            f"  - name: {RECEIVER_NAME}",
            "    webhook_configs:",
            f"      - url: {_quoted(url)}",
            "        send_resolved: true  # the resolutions are what time to resolve is measured from",
            "        max_alerts: 0  # every alert of a group; truncated ones would never be seen",
            "        http_config:",
            "          authorization:",
            "            type: Bearer",
            f"            credentials: {credentials}",
            "# and, first under route.routes, so that every alert also reaches Compass:",
            "#   - receiver: compass",
            "#     continue: true",
        ]
    )
