"""HTTP 429 at the Web API client: wait for Retry-After and call again, except where a caller paces itself."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlparse

from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState


def api_method(url: str) -> str:
    """The Web API method a request URL calls: ``https://slack.com/api/users.list?limit=200`` -> ``users.list``."""
    return urlparse(url).path.rsplit("/", 1)[-1]


class RateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (sleeps Retry-After, then repeats the call) for every method but ``paced``.

    A 429 on a paced method reaches the caller, whose pacer then holds back every call of
    that kind (bot/slack/sender.py), where a retry here would wait for one call alone and
    let the rest of the fan-out run into the limit.
    """

    def __init__(self, max_retry_count: int, paced: Iterable[str] = ()) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.paced = frozenset(paced)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if api_method(request.url) in self.paced:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)
