"""Who sent a delivery: each sender's own scheme, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

TOKEN_PREFIX = "sha256:"
MLFLOW_TOLERANCE = timedelta(minutes=5)  # a signed MLflow timestamp older (or newer) than this is stale


def hash_token(token: str) -> str:
    """How a bearer or GitLab token is stored: only its SHA-256 (the token itself is shown once)."""
    return TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def token_matches(stored: str, presented: str | None) -> bool:
    """A presented token against the stored "sha256:<hex>"."""
    if not presented or not stored.startswith(TOKEN_PREFIX):
        return False
    return hmac.compare_digest(hash_token(presented), stored)


def github_signature(secret: str, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends: "sha256=" + HMAC-SHA256 of the raw body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not secret:
        return False
    return hmac.compare_digest(github_signature(secret, body), header.strip())


def mlflow_signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """X-MLflow-Signature: "v1," + base64 HMAC-SHA256 of "{delivery id}.{timestamp}.{body}"."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def mlflow_problem(
    secret: str, body: bytes, headers: dict[str, str], now: datetime, tolerance: timedelta = MLFLOW_TOLERANCE
) -> str | None:
    """Why an MLflow delivery is refused (missing header, stale timestamp, bad signature), or None."""
    delivery_id = headers.get("x-mlflow-delivery-id")
    timestamp = headers.get("x-mlflow-timestamp")
    signature = headers.get("x-mlflow-signature")
    if not delivery_id or not timestamp or not signature:
        return "missing X-MLflow-Signature, X-MLflow-Timestamp or X-MLflow-Delivery-Id"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-MLflow-Timestamp is not a Unix time"
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return "stale X-MLflow-Timestamp"
    expected = mlflow_signature(secret, delivery_id, timestamp, body)
    # The header may list several signatures, space-separated (as Standard Webhooks allows).
    if not any(hmac.compare_digest(expected, given) for given in signature.split()):
        return "bad X-MLflow-Signature"
    return None
