"""MLflow's registry events as documentation and lineage: payloads as mlflow/webhooks/delivery.py
builds them, from the documented examples (tests/data/webhooks/SOURCES.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import DATA

from bot.domain.delivery_metrics import DeliveryMetrics, Metric, supported_levels
from bot.domain.ingest import mlflow
from bot.domain.measured import measurements
from bot.domain.model_documentation import ShareBand, documentation_status, is_model_card_tag, share_band
from bot.domain.signals import SignalType

ALIASES = ("production", "champion")


def example(name: str) -> dict[str, Any]:
    return json.loads((DATA / "webhooks" / "mlflow" / f"{name}.json").read_text())  # type: ignore[no-any-return]


def created(**data: Any) -> dict[str, Any]:
    payload = example("model_version_created")
    payload["data"].update(data)
    return payload


def test_the_documented_example_is_a_documented_training_run_linked_to_its_run() -> None:
    (run,) = mlflow.parse(example("model_version_created"), ALIASES).events

    assert (run.type, run.external_id, run.model, run.version) == (
        SignalType.TRAINING_RUN,
        "example_model/1",
        "example_model",
        "1",
    )
    assert (run.status, run.category) == ("documented", "run")
    assert run.at == datetime(2026, 11, 30, 3, 20, 0, 123456, tzinfo=UTC)


def test_a_version_registered_without_a_run_description_or_card_is_undocumented_and_untracked() -> None:
    # What mlflow/server/handlers.py sends for empty ones: run_id and description null.
    (run,) = mlflow.parse(created(run_id=None, description=None, tags={}), ALIASES).events

    assert (run.status, run.category) == ("undocumented", None)
    (blank,) = mlflow.parse(created(run_id="  ", description="  \n"), ALIASES).events
    assert (blank.status, blank.category) == ("undocumented", None)


@pytest.mark.parametrize("key", ["model_card", "Model-Card", "modelcard", "model_card_url", "DOCUMENTATION"])
def test_a_model_card_tag_documents_a_version_registered_without_a_description(key: str) -> None:
    (run,) = mlflow.parse(created(description=None, tags={key: "https://wiki/churn-card"}), ALIASES).events

    assert run.status == "documented"


def test_a_blank_card_or_another_tag_does_not_document() -> None:
    assert documentation_status(None, {"model_card": " "}) == "undocumented"
    assert documentation_status(None, {"owner": "ml-platform", "card": "x"}) == "undocumented"
    assert documentation_status(None, ["model_card"]) == "undocumented"
    assert not is_model_card_tag(None, "x")


def test_a_model_card_tag_set_later_is_a_model_documented_event() -> None:
    payload = example("model_version_tag_set")
    payload["data"].update(key="model_card", value="s3://cards/example_model/1.md")

    (card,) = mlflow.parse(payload, ALIASES).events

    assert (card.type, card.external_id, card.model, card.version, card.name) == (
        SignalType.MODEL_DOCUMENTED,
        "example_model/1",
        "example_model",
        "1",
        "model_card",
    )
    assert card.at == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def test_any_other_tag_set_is_ignored() -> None:
    parsed = mlflow.parse(example("model_version_tag_set"), ALIASES)

    assert parsed.events == () and parsed.ignored and "example_key" in parsed.ignored


def test_share_bands_and_the_levels_they_support() -> None:
    assert [share_band(s) for s in (1.0, 0.95, 0.94, 0.75, 0.5, 0.25, 0.24, 0.0)] == [
        ShareBand.ALL,
        ShareBand.ALL,
        ShareBand.MOST,
        ShareBand.MOST,
        ShareBand.SOME,
        ShareBand.SOME,
        ShareBand.FEW,
        ShareBand.FEW,
    ]
    assert supported_levels(Metric.MODEL_DOCUMENTATION, "95% or more") == (3, 4)
    assert supported_levels(Metric.MODEL_TRACKING, "25-74%") == (2, 2)


def test_measurements_phrase_the_shares_with_their_bands() -> None:
    metrics = DeliveryMetrics(90, model_versions=4, documented_share=0.75, tracked_share=1.0)

    found = measurements(metrics)

    assert found["model_documentation"].phrase == "75 % of 4 model versions documented (75-94%)"
    assert found["model_tracking"].phrase == "100 % of 4 model versions linked to a tracked run (95% or more)"
    assert metrics.as_json_dict()["documented_share"] == 0.75
    assert metrics.has_data
    assert "model_documentation" not in measurements(DeliveryMetrics(90))
