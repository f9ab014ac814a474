"""Verifying the console's bearer tokens as AppSync does: RS256 signature against the issuer's JWKS,
issuer, expiry, and the client: with Cognito `aud` of an ID token or `client_id` of an access token,
with OpenID Connect the ID token's `aud` (a string or a list).

The local console server refuses any token that fails one check with 401, so a forged or expired token
reaches no resolver.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GROUPS_CLAIM = "cognito:groups"


class TokenRejected(Exception):
    """Why a token is not accepted: the 401's message."""


@dataclass(frozen=True)
class Verified:
    """What a verified token says about its holder."""

    subject: str
    username: str
    groups: tuple[str, ...]
    expires_at: int


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _int(part: str) -> int:
    return int.from_bytes(_b64(part), "big")


def fetch_jwks(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        keys: dict[str, Any] = json.loads(response.read())
        return keys


class Verifier:
    """Checks tokens of one user pool and app client; the pool's keys are fetched once and kept."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        jwks_url: str,
        fetch: Callable[[str], Mapping[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.time,
        groups_claim: str = GROUPS_CLAIM,
        cognito: bool = True,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.jwks_url = jwks_url
        self.fetch = fetch
        self.clock = clock
        self.groups_claim = groups_claim
        self.cognito = cognito
        self._keys: dict[str, rsa.RSAPublicKey] | None = None

    def keys(self) -> dict[str, rsa.RSAPublicKey]:
        if self._keys is None:
            found = self.fetch(self.jwks_url).get("keys") or []
            self._keys = {
                str(k["kid"]): rsa.RSAPublicNumbers(_int(k["e"]), _int(k["n"])).public_key()
                for k in found
                if k.get("kty") == "RSA" and "kid" in k
            }
        return self._keys

    def verify(self, authorization: str | None) -> Verified:
        """The `Authorization` header's token (with or without `Bearer `), verified; TokenRejected otherwise."""
        if not authorization:
            raise TokenRejected("no token: sign in first")
        token = authorization.removeprefix("Bearer ").strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("the token is not a JWT")
        try:
            header = json.loads(_b64(parts[0]))
            claims: dict[str, Any] = json.loads(_b64(parts[1]))
            signature = _b64(parts[2])
        except ValueError as exc:
            raise TokenRejected("the token is not a JWT") from exc
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise TokenRejected("the token is not signed with RS256")
        key = self.keys().get(str(header.get("kid")))
        if key is None:
            raise TokenRejected("the token is signed by a key the user pool does not publish")
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise TokenRejected("the token's signature does not verify") from exc
        return self._checked(claims)

    def _checked(self, claims: dict[str, Any]) -> Verified:
        if claims.get("iss") != self.issuer:
            raise TokenRejected("the token was issued by another user pool")
        if self.client_id not in self._audience(claims):
            raise TokenRejected("the token was issued to another app client")
        expires = claims.get("exp")
        if not isinstance(expires, int) or expires <= self.clock():
            raise TokenRejected("the token has expired: sign in again")
        claimed = claims.get(self.groups_claim) or []
        groups = (
            re.split(r"[\s,]+", claimed) if isinstance(claimed, str) else claimed if isinstance(claimed, list) else []
        )
        subject = str(claims.get("sub", ""))
        username = str(claims.get("email") or claims.get("cognito:username") or claims.get("username") or subject)
        return Verified(subject, username, tuple(str(g) for g in groups), expires)

    def _audience(self, claims: dict[str, Any]) -> list[Any]:
        if not self.cognito:
            audience = claims.get("aud")
            return audience if isinstance(audience, list) else [audience]
        use = claims.get("token_use")
        return [claims.get("aud") if use == "id" else claims.get("client_id") if use == "access" else None]


def discover(issuer: str, fetch: Callable[[str], Mapping[str, Any]] = fetch_jwks) -> Mapping[str, Any]:
    """The issuer's OpenID Connect discovery document, checked to be the issuer's own (OIDC Discovery 4.3)."""
    try:
        document = fetch(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    except (OSError, ValueError) as exc:
        raise TokenRejected(f"the issuer's discovery document could not be read ({exc})") from exc
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/") or not document.get("jwks_uri"):
        raise TokenRejected("the issuer's discovery document names another issuer or no jwks_uri")
    return document
