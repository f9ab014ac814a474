"""A small OpenID Connect provider on a loopback port, for the console's OIDC sign-in tests.

It is the local console's own sign-in flow (`signin.HostedUi`: the form, one-time codes bound to the
client, the redirect URI and the PKCE challenge, the token exchange, logout to the registered address
only) with a discovery document and its own RS256 signing key, so the tokens it hands out carry its own
issuer, the client as `aud` and the user's groups. Like a real provider it answers the browser's
cross-origin discovery and token requests (CORS).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from generator.deploy.local.console.signin import HostedUi, Page, Pool, Refused, discovery_document

KEY_ID = "test-oidc-key"


@dataclass(frozen=True)
class User:
    password: str
    groups: tuple[str, ...]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """The issuer `base`; `client_id` may come back only to `redirect_uri`."""

    def __init__(self, base: str, client_id: str, redirect_uri: str, users: Mapping[str, User]) -> None:
        self.base = base
        self.issuer = base
        self.users = dict(users)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pool = Pool("test-oidc", client_id, redirect_uri)
        self.hosted_ui = HostedUi(lambda: self.pool, self.authenticate)

    def token(self, claims: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}).encode())
        payload = _b64(json.dumps(claims).encode())
        signature = self.key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64(signature)}"

    def authenticate(self, pool: Pool, username: str, password: str) -> Mapping[str, Any]:
        user = self.users.get(username)
        if user is None or user.password != password:
            raise Refused("Incorrect username or password.")
        now = int(time.time())
        common = {"iss": self.issuer, "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, username)), "iat": now}
        id_claims = {**common, "aud": pool.client_id, "exp": now + 3600, "email": username, "groups": list(user.groups)}
        access = {**common, "aud": "console-api", "client_id": pool.client_id, "exp": now + 3600, "scope": "openid"}
        return {
            "id_token": self.token(id_claims),
            "access_token": self.token(access),
            "expires_in": 3600,
            "token_type": "Bearer",
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "kid": KEY_ID, "alg": "RS256", "use": "sig", "n": _b64(n), "e": _b64(e)}]}

    def dispatch(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/.well-known/openid-configuration":
            return _json(discovery_document(self.issuer, self.base, f"{self.base}/jwks.json"))
        if path == "/jwks.json":
            return _json(self.jwks())
        if path == "/oauth2/authorize":
            ui = self.hosted_ui
            page = ui.authorize(request.args.to_dict()) if method == "GET" else ui.sign_in(request.form.to_dict())
            return _page(page)
        if path == "/oauth2/token" and method == "POST":
            return _page(self.hosted_ui.token(request.form.to_dict()))
        if path == "/logout":
            return _page(self.hosted_ui.logout(request.args.to_dict()))
        return Response("not found", status=404)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self.dispatch(Request(environ))
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response(environ, start_response)


def _json(body: Any) -> Response:
    return Response(json.dumps(body), content_type="application/json")


def _page(page: Page) -> Response:
    response = Response(page.body, status=page.status, content_type=page.content_type)
    if page.location:
        response.headers["Location"] = page.location
    return response


@contextmanager
def serving(app: Any, port: int) -> Iterator[None]:
    """`app` on 127.0.0.1:`port` in a thread, until the block ends."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
