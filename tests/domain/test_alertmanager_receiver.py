"""The alertmanager.yml receiver Compass prints: valid YAML that Alertmanager reads as a bearer webhook."""

from __future__ import annotations

import yaml

from bot.domain.alertmanager_receiver import TOKEN_PLACEHOLDER, alertmanager_receiver_yaml

URL = "https://compass.example.com/signals/alertmanager/3f9c1e0a7b2d4c68"


def test_the_receiver_sends_resolved_untruncated_alerts_with_the_bearer_token() -> None:
    config = yaml.safe_load(alertmanager_receiver_yaml(URL, "tok-en_123"))
    assert config == {
        "receivers": [
            {
                "name": "compass",
                "webhook_configs": [
                    {
                        "url": URL,
                        "send_resolved": True,
                        "max_alerts": 0,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": "tok-en_123"}},
                    }
                ],
            }
        ]
    }


def test_a_chosen_token_is_a_placeholder_and_any_token_stays_one_yaml_string() -> None:
    placeholder = yaml.safe_load(alertmanager_receiver_yaml(URL, None))
    assert placeholder["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]["credentials"] == (
        TOKEN_PLACEHOLDER
    )
    odd = 'a "quoted": #token\\'
    config = yaml.safe_load(alertmanager_receiver_yaml(URL, odd))
    assert config["receivers"][0]["webhook_configs"][0]["http_config"]["authorization"]["credentials"] == odd


def test_the_route_that_sends_every_alert_to_compass_too_is_shown_as_a_comment() -> None:
    text = alertmanager_receiver_yaml(URL, "t")
    route = "\n".join(line.removeprefix("#") for line in text.splitlines()[-2:])
    assert yaml.safe_load(route) == [{"receiver": "compass", "continue": True}]
