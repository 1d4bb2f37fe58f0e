"""Model documentation and lineage as a model registry reports them.

A registered model version is *documented* when it was registered with a description or with
a model-card tag, or when such a tag was set on it later; it is *tracked* when the registry links
it to the tracking run that produced it (MLflow's ``run_id``). The metrics are the shares of the
versions registered in the window, put into bands of our own (no public benchmark exists):
95 % or more, 75-94 %, 25-74 %, under 25 %.

What this reads is only what the registry holds: a README in the repository or a card in a wiki
is invisible to it, so a low share never proves the lowest level on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

DOCUMENTED = "documented"
UNDOCUMENTED = "undocumented"
TRACKED_RUN = "run"  # the category of a version made by a tracked run

# Tag keys that name a model card, compared after folding case and turning "-", "." and spaces
# into "_": model_card, Model-Card, model.card_url, Documentation ...
MODEL_CARD_TAGS = frozenset(
    {"model_card", "modelcard", "model_card_url", "model_card_uri", "documentation", "documentation_url"}
)


def _folded(key: str) -> str:
    return key.strip().casefold().replace("-", "_").replace(".", "_").replace(" ", "_")


def is_model_card_tag(key: Any, value: Any) -> bool:
    """Whether a tag names a model card: a model-card key with a value that is not blank."""
    return isinstance(key, str) and _folded(key) in MODEL_CARD_TAGS and isinstance(value, str) and bool(value.strip())


def documentation_status(description: Any, tags: Any) -> str:
    """``documented`` for a version registered with a description or a model-card tag, else ``undocumented``."""
    if isinstance(description, str) and description.strip():
        return DOCUMENTED
    if isinstance(tags, Mapping) and any(is_model_card_tag(k, v) for k, v in tags.items()):
        return DOCUMENTED
    return UNDOCUMENTED


class ShareBand(StrEnum):
    """The share of registered model versions that are documented, or linked to a tracked run."""

    ALL = "95% or more"
    MOST = "75-94%"
    SOME = "25-74%"
    FEW = "under 25%"


def share_band(share: float) -> ShareBand:
    if share >= 0.95:
        return ShareBand.ALL
    if share >= 0.75:
        return ShareBand.MOST
    if share >= 0.25:
        return ShareBand.SOME
    return ShareBand.FEW


# responsible.risk_documentation: every version documented in the registry fits "documented for
# every model" (3) and, when the cards come from registry metadata, "generated model cards" (4);
# what the registry cannot see (a README beside the code) keeps the lower bands at two levels.
DOCUMENTATION_LEVELS: dict[ShareBand, tuple[int, int]] = {
    ShareBand.ALL: (3, 4),
    ShareBand.MOST: (2, 3),
    ShareBand.SOME: (1, 2),
    ShareBand.FEW: (1, 2),
}
# data.experiment_tracking: versions made by tracked runs show the registry wired to tracking;
# all of them fit "every run logged" (3) to "wired to the registry" (4); some of them "a tool used
# by some" (2).
TRACKING_LEVELS: dict[ShareBand, tuple[int, int]] = {
    ShareBand.ALL: (3, 4),
    ShareBand.MOST: (2, 3),
    ShareBand.SOME: (2, 2),
    ShareBand.FEW: (1, 2),
}
