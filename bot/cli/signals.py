"""`compass signals`: delivery signals from CI/CD and the model registry."""

from __future__ import annotations

import json

import click

from bot.app import delivery
from bot.cli import common
from bot.domain.delivery_metrics import DeliveryMetrics


@click.group()
def signals() -> None:
    """Delivery signals from CI/CD and the model registry."""


# --- compass signals show ------------------------------------------------------------------


@signals.command("show")
@click.option("--channel", required=True, help="The team channel's id (C...) the sources belong to.")
@click.option("--days", type=click.IntRange(min=1, max=3650), default=90, show_default=True, help="The window.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as a JSON object (null where no data).")
def show(channel: str, days: int, as_json: bool) -> None:
    """Print a channel's delivery metrics with their DORA bands."""
    config = common.settings()
    database = common.database(config)
    try:
        if not delivery.has_signals(database.sessions, channel):
            common.fail(f"{channel} has no signal sources; add one with `compass signals add`.")
        metrics = delivery.delivery_metrics(database.sessions, channel, common.now(), days)
    finally:
        database.dispose()
    if as_json:
        click.echo(json.dumps({"channel": channel, **metrics.as_json_dict()}, indent=2))
    else:
        click.echo("\n".join(describe_metrics(channel, metrics)))


def describe_metrics(channel: str, m: DeliveryMetrics) -> list[str]:
    """One line per metric with its band, "no data" where there is none."""

    def line(name: str, text: str | None) -> str:
        return f"  {name:<26}{text if text is not None else 'no data'}"

    def band(value: object) -> str:
        return "" if value is None else f" ({value})"

    freq = m.deployment_frequency_per_week
    rate = m.change_failure_rate
    lead = m.lead_time_hours_p50
    restore = m.time_to_restore_hours_p50
    runs = m.training_runs_per_month_per_model
    age = m.model_age_days
    return [
        f"Delivery signals for {channel}, last {m.window_days} days",
        line(
            "Deployment frequency",
            None
            if freq is None
            else f"{freq:.1f} per week{band(m.deployment_frequency_band)}, {_count(m.deployments, 'deployment')}",
        ),
        line("Lead time (median)", None if lead is None else f"{_hours(lead)}{band(m.lead_time_band)}"),
        line(
            "Change failure rate",
            None
            if rate is None
            else f"{rate:.0%}{band(m.change_failure_band)}, {_count(m.failed_deployments, 'failed deployment')}",
        ),
        line(
            "Time to restore (median)", None if restore is None else f"{_hours(restore)}{band(m.time_to_restore_band)}"
        ),
        line(
            "Training runs",
            None if runs is None else f"{m.training_runs}, {runs:.1f} per month per model{band(m.training_band)}",
        ),
        line("Model deployments", str(m.model_deployments) if m.model_deployments else None),
        line("Model age (median)", None if age is None else f"{age:.1f} days"),
    ]


def _hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
