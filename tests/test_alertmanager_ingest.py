"""Prometheus Alertmanager as a signal source end to end: a source made with `compass signals add
alertmanager`, notifications as Alertmanager sends them (webhook version 4, a bearer token) over
real HTTP against ``compass serve --http``; repeats store nothing new. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import test_signals_ingest
from alertmanager_payloads import alertmanager_example, alertmanager_group, alertmanager_headers
from signal_env import Env, Made
from signal_payloads import printed_secret
from sqlalchemy import select
from test_signals_real_senders import raw_post

from bot.db.models import SignalSource
from bot.domain.ingest.bodies import body_limit
from bot.domain.signals import SourceKind

env = test_signals_ingest.env  # the same app and databases as the other senders' tests, one per module


def send(env: Env, made: Made, payload: object, token: str | None = None) -> test_signals_ingest.Reply:
    return env.post(made.path, json.dumps(payload), alertmanager_headers(token or made.secret))


def test_the_add_command_prints_the_receiver_to_paste_into_alertmanager_yml(env: Env) -> None:
    out = env.cli("signals", "add", "alertmanager", "--channel", test_signals_ingest.CHANNEL)
    source = re.search(r"^source (\w+) \(alertmanager\)", out, re.M)
    token = printed_secret(out)
    assert source and token, out
    assert f'url: "https://YOUR-HOST/signals/alertmanager/{source.group(1)}"' in out
    assert f'credentials: "{token}"' in out
    assert "type: Bearer" in out and "send_resolved: true" in out and "max_alerts: 0" in out
    assert "The label `compass_kind`" in out
    with env.db.sessions() as s:
        stored = s.scalar(select(SignalSource.secret).where(SignalSource.id == source.group(1)))
    assert stored is not None and stored.startswith("sha256:") and token not in stored
    listed = env.cli("signals", "list", "--channel", test_signals_ingest.CHANNEL)
    assert f"{source.group(1)}  alertmanager" in listed and token not in listed


def test_a_group_is_stored_once_and_its_repeated_notifications_store_nothing(env: Env) -> None:
    made = env.add("alertmanager")
    first = send(env, made, alertmanager_example("firing"))
    assert (first.status, first.json()["events"]) == (200, 2)
    again = send(env, made, alertmanager_example("firing"))
    assert (again.status, again.json()["outcome"]) == (200, "already stored")
    # A repeat after repeat_interval may list the alerts in another order, with other annotations.
    reordered = alertmanager_example("firing")
    reordered["alerts"].reverse()
    reordered["commonAnnotations"] = {"summary": "Test summary, still"}
    assert (send(env, made, reordered).status, send(env, made, reordered).json()["outcome"]) == (200, "already stored")
    assert env.counts(made.id) == (1, 2)
    rows = env.events(made.id)
    assert [(r.type, r.name, r.category, r.external_id) for r in rows] == [
        ("alert_firing", "TestAlert", "drift", "90d88a11bdb4b4b5:2020-01-01T00:00:00+00:00"),
        ("alert_firing", "TestAlert", "drift", "f2fd74298c0e72bb:2020-01-01T00:00:00+00:00"),
    ]


def test_firing_then_resolved_adds_only_the_resolution(env: Env) -> None:
    made = env.add("alertmanager")
    assert send(env, made, alertmanager_example("firing")).status == 200
    resolved = send(env, made, alertmanager_example("one_resolved"))
    assert (resolved.status, resolved.json()["outcome"]) == (200, "stored")
    assert send(env, made, alertmanager_example("one_resolved")).json()["outcome"] == "already stored"
    # Then the group's next repeat holds the alert still firing alone: kept as a delivery, no event.
    still = alertmanager_example("firing")
    del still["alerts"][0]
    assert send(env, made, still).status == 200
    assert send(env, made, still).json()["outcome"] == "already stored"
    assert env.counts(made.id) == (3, 3)
    firing, other, resolution = env.events(made.id)
    assert (resolution.type, resolution.external_id) == ("alert_resolved", firing.external_id)
    assert resolution.at.replace(tzinfo=None).isoformat() == "2020-01-01T01:00:00"
    assert other.type == "alert_firing"


def test_a_resolution_seen_without_its_firing_stores_both(env: Env) -> None:
    made = env.add("alertmanager", "--alert-label", "team_signal")
    group = alertmanager_group(3, resolved=True, kind=None)
    group["alerts"][0]["labels"]["team_signal"] = "model_quality"
    assert send(env, made, group).json()["events"] == 6
    assert Counter((r.type, r.category) for r in env.events(made.id)) == {
        ("alert_firing", "model_quality"): 1,
        ("alert_resolved", "model_quality"): 1,
        ("alert_firing", None): 2,
        ("alert_resolved", None): 2,
    }


def test_a_missing_or_bad_token_is_401_and_stores_nothing(env: Env) -> None:
    made = env.add("alertmanager")
    body = json.dumps(alertmanager_example())
    no_auth = {k: v for k, v in alertmanager_headers(made.secret).items() if k != "Authorization"}
    assert env.post(made.path, body, no_auth).status == 401
    assert env.post(made.path, body, alertmanager_headers("not-the-token")).status == 401
    basic = {**no_auth, "Authorization": f"Basic {made.secret}"}
    assert env.post(made.path, body, basic).status == 401
    assert env.counts(made.id) == (0, 0)
    assert made.secret not in env.app.log()


def test_an_unknown_source_or_another_kinds_path_is_404(env: Env) -> None:
    made = env.add("alertmanager")
    body = json.dumps(alertmanager_example())
    headers = alertmanager_headers(made.secret)
    assert env.post("/signals/alertmanager/nosuchsource", body, headers).status == 404
    assert env.post(f"/signals/events/{made.id}", body, headers).status == 404
    assert env.counts(made.id) == (0, 0)


def test_another_version_or_a_bad_alert_is_400_naming_it_and_over_the_limit_413(env: Env) -> None:
    made = env.add("alertmanager")
    old = alertmanager_example()
    old["version"] = "3"
    version = send(env, made, old)
    assert (version.status, version.json()["detail"]) == (
        400,
        "version: '3': Compass reads Alertmanager's webhook version 4",
    )
    bad = alertmanager_example()
    del bad["alerts"][1]["startsAt"]
    alert = send(env, made, bad)
    assert (alert.status, alert.json()["detail"]) == (400, "alerts[1].startsAt: missing")
    empty = alertmanager_example()
    empty["alerts"] = []
    assert send(env, made, empty).status == 202
    limit = body_limit(SourceKind.ALERTMANAGER)
    headers = {**alertmanager_headers(made.secret), "Content-Length": str(limit + 1)}
    status, answer = raw_post(env, made.path, headers, b"")  # refused on its declared length, unread
    assert (status, answer["error"]) == (413, f"body over {limit} bytes, the most a source of kind alertmanager takes")
    assert env.counts(made.id) == (0, 0)


def test_signals_show_json_reports_the_alerts_of_the_channel(env: Env) -> None:
    out = env.cli("signals", "add", "alertmanager", "--channel", "C0ALERTS")
    source, token = re.search(r"^source (\w+) ", out, re.M), printed_secret(out)
    assert source and token
    made = Made(source.group(1), f"/signals/alertmanager/{source.group(1)}", token)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = (now - timedelta(hours=3)).isoformat()
    assert send(env, made, alertmanager_group(3, kind="drift", starts_at=stamp)).status == 200
    ended = (now - timedelta(hours=1)).isoformat()
    assert (
        send(env, made, alertmanager_group(2, kind="drift", starts_at=stamp, resolved=True, ends_at=ended)).status
        == 200
    )
    shown = json.loads(env.cli("signals", "show", "--channel", "C0ALERTS", "--json"))
    assert (shown["alerts_fired"], shown["alerts_resolved"], shown["alert_time_to_resolve_hours_p50"]) == (3, 2, 2.0)
    assert shown["alerts_by_category"] == {"drift": {"fired": 3, "resolved": 2, "band": "fired and resolved"}}
    assert (shown["model_alerts_fired"], shown["model_alerts_resolved"]) == (3, 2)
    text = env.cli("signals", "show", "--channel", "C0ALERTS")
    assert "Alerts fired / resolved   3 / 2" in text and "drift 3/2 (fired and resolved)" in text
