"""The set-up guide of a source just added, for the surfaces that show it once (`compass signals
add`, `/compass signals add`): the domain's texts for the source's settings and URL."""

from __future__ import annotations

from bot.app.signals import NewSource
from bot.domain.signal_setup import SetupGuide, SetupSource, setup_guide, webhook_url


def guide_for(new: NewSource, public_url: str | None) -> SetupGuide:
    """What to paste on the sender's side; the secret only when it was generated (shown this once)."""
    s = new.source
    return setup_guide(
        SetupSource(
            kind=s.kind,
            source_id=s.id,
            url=webhook_url(public_url, s.path),
            secret=new.secret,
            environment=s.environment,
            training_pattern=s.training_pattern,
            serving_aliases=s.serving_aliases,
            check_patterns=s.check_patterns,
            alert_label=s.alert_label,
        )
    )
