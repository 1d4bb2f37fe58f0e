"""Which token a piece of work uses: the one bot token, or the installation of its workspace.

Listeners get Bolt's per-request client. The worker and the scheduler ask a ``TokenSource``
for the client of the workspace (or Enterprise Grid organisation) a job belongs to; in the
single-workspace mode that is always the one client, in the distributed mode the installation
store's bot token for that workspace (rotated first when it is about to expire).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient


class NotInstalled(LookupError):
    """No installation (or no bot token) for the workspace a job belongs to: it was uninstalled."""


@dataclass(frozen=True)
class Tenant:
    """A workspace, or a workspace reached through an org-wide install (``is_enterprise_install``)."""

    enterprise_id: str | None
    team_id: str | None
    is_enterprise_install: bool = False


def tenant_of(body: dict[str, Any]) -> Tenant:
    """The workspace a slash command, block action or event body came from."""
    team: dict[str, Any] = body["team"] if isinstance(body.get("team"), dict) else {}
    enterprise: dict[str, Any] = body["enterprise"] if isinstance(body.get("enterprise"), dict) else {}
    team_id = body.get("team_id") or team.get("id") or (body.get("user") or {}).get("team_id")
    enterprise_id = body.get("enterprise_id") or enterprise.get("id")
    org = body.get("is_enterprise_install")
    if isinstance(org, str):
        org = org.lower() == "true"
    for authorization in body.get("authorizations") or []:
        enterprise_id = enterprise_id or authorization.get("enterprise_id")
        org = org or bool(authorization.get("is_enterprise_install"))
    return Tenant(enterprise_id or None, team_id or None, bool(org))


class TokenSource(Protocol):
    def client_for(self, tenant: Tenant) -> WebClient:
        """The client for the tenant's workspace; raises NotInstalled when it has no bot token."""
        ...

    def tenants(self) -> list[Tenant]:
        """Every workspace the scheduler serves."""
        ...


class OneWorkspace:
    """The single-workspace mode: SLACK_BOT_TOKEN's client for everything."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def client_for(self, tenant: Tenant) -> WebClient:
        return self.client

    def tenants(self) -> list[Tenant]:
        return [Tenant(None, None)]
