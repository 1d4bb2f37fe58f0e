"""Global middleware: hand listeners their dependencies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack.deps import CONTEXT_KEY, Deps


def inject(deps: Deps) -> Callable[..., Any]:
    def inject_deps(context: Any, next: Callable[[], Any]) -> Any:  # noqa: A002 - Bolt injects by name
        context[CONTEXT_KEY] = deps
        return next()

    return inject_deps
