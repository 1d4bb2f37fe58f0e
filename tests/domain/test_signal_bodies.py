"""A delivery's body before the parsers: JSON or GitHub's form, and nothing a hostile body can
make raise anything but PayloadError."""

from __future__ import annotations

import pytest

from bot.domain.ingest.bodies import BODY_LIMITS, FORM, decode_body
from bot.domain.ingest.common import PayloadError
from bot.domain.signals import SourceKind


def test_every_kind_of_source_has_a_body_limit() -> None:
    assert set(BODY_LIMITS) == set(SourceKind)


def test_a_form_body_gives_its_payload_field_as_the_json_text() -> None:
    text, value = decode_body(b"payload=%7B%22zen%22%3A+%22Design+for+failure.%22%7D", FORM, form_allowed=True)
    assert (text, value) == ('{"zen": "Design for failure."}', {"zen": "Design for failure."})
    text, value = decode_body(b'{"a": 1}', "application/json; charset=utf-8", form_allowed=False)
    assert value == {"a": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "body: JSON nested too deeply"),
        (b"payload=" + b"%5B" * 100_000, FORM, "payload: JSON nested too deeply"),
        (b"1" * 10_000, "application/json", "body: not JSON"),  # past Python's int digit limit
        (b"\xff\xfe", "application/json", "body: not JSON"),
        (b"payload=%FF", FORM, "body: form-encoded but not URL-encoded UTF-8"),
        (b"&".join(b"f%d=1" % i for i in range(100)), FORM, "body: a form of more than 16 fields"),
    ],
)
def test_hostile_bodies_are_payload_errors(body: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        decode_body(body, content_type, form_allowed=True)
    assert str(raised.value) == problem
