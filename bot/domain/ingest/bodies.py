"""A delivery's body before any parser sees it: how large each sender's may be, and its JSON.

Each limit is what that sender really sends at most, so that a real delivery is never refused
and a request is never read beyond it (docs/signals.md, "Body size limits", cites each figure):

- GitHub caps webhook payloads at 25 MB ("Webhook events and payloads": larger events are not
  sent); a push carries up to 2,048 commits (the Events API's 20 is another API's cap).
- GitLab does not send a webhook whose JSON is over 25 MB (gitlab-org/gitlab MR !38687,
  ``Gitlab::Json::LimitedEncoder``).
- MLflow sends one model version or alias per delivery: a name, a version, a source URI, a run
  id, tags and a description. A registry tag's key is at most 250 characters and its value 5,000
  (``mlflow/utils/validation.py``), a description 5,000 (the registry's SQL column): 1 MiB
  holds some 200 tags of the largest size.
- Alertmanager sends a whole alert group in one notification unless the receiver sets
  ``max_alerts``: a few KiB per alert (labels, annotations, generator URL), so 8 MiB holds a
  group of a few thousand alerts.
- The generic events API takes at most 1,000 events a request (``events.MAX_EVENTS``); an event
  is a handful of short fields, well under 4 KiB even with long ids, hence 4 MiB.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SourceKind

MIB = 1024 * 1024

BODY_LIMITS: dict[SourceKind, int] = {
    SourceKind.GITHUB: 25 * MIB,
    SourceKind.GITLAB: 25 * MIB,
    SourceKind.MLFLOW: 1 * MIB,
    SourceKind.EVENTS: 4 * MIB,
    SourceKind.ALERTMANAGER: 8 * MIB,
}

FORM = "application/x-www-form-urlencoded"
_FORM_FIELDS = 16  # GitHub's form body has one field, ``payload``: many more is not a webhook


def body_limit(kind: SourceKind) -> int:
    """The most bytes a delivery of this kind of sender may have."""
    return BODY_LIMITS[kind]


def decode_body(body: bytes, content_type: str, form_allowed: bool) -> tuple[str, Any]:
    """The JSON text a delivery carries, and its value.

    A form-encoded body (GitHub's default content type, ``payload=<url-encoded JSON>``) is read
    only when ``form_allowed``; its JSON text is what is kept, the same as a JSON delivery's.

    Raises:
        PayloadError: not JSON, not UTF-8, a form without a single ``payload`` field, or JSON
            nested too deeply to read (Python's parser would raise RecursionError).
    """
    media = content_type.partition(";")[0].strip().lower()
    if media == FORM:
        if not form_allowed:
            raise PayloadError("body", "form-encoded; this kind of source takes application/json")
        text = _form_payload(body)
        field = "payload"
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("body", "not JSON") from None
        field = "body"
    return text, loads(text, field)


def loads(text: str, field: str = "body") -> Any:
    """``json.loads`` whose every failure on hostile input is a PayloadError naming ``field``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise PayloadError(field, "JSON nested too deeply") from None
    except ValueError:  # JSONDecodeError, and an integer too long to convert (int_max_str_digits)
        raise PayloadError(field, "not JSON") from None


def _form_payload(body: bytes) -> str:
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, errors="strict", max_num_fields=_FORM_FIELDS)
    except UnicodeDecodeError:
        raise PayloadError("body", "form-encoded but not URL-encoded UTF-8") from None
    except ValueError:  # over max_num_fields
        raise PayloadError("body", f"a form of more than {_FORM_FIELDS} fields") from None
    values = fields.get("payload")
    if not values:
        raise PayloadError("payload", "missing from the form body")
    if len(values) > 1:
        raise PayloadError("payload", "given more than once in the form body")
    return values[0]
