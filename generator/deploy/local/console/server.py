"""The local console server: the console's static app, its `config.json`, the GraphQL API over the local
state table, and a local stand-in for Cognito's hosted UI, on a loopback port. When the console stack
signs in with an OpenID Connect provider, the app signs in there (found through the issuer's discovery
document) and the API verifies that issuer's tokens instead.

`POST /graphql` answers like AppSync: a token that does not verify against the local user pool (forged,
expired, another client's) gets 401 and reaches no resolver; every answer carries `x-amzn-RequestId`,
which the app shows beside an error. Run as `python -m generator.deploy.local.console.server`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
import uuid
from importlib.resources import files
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from generator.deploy.local.console.pool import ConsoleStack, LazyConsole, OidcConsole
from generator.deploy.local.console.signin import HostedUi, Page, Pool, cognito_password
from generator.deploy.local.console.tokens import TokenRejected, Verifier, discover
from generator.deploy.local.session import local_session

LOOPBACK = "127.0.0.1"
DISCOVERY_RETRY_S = 15.0
PASSWORD_VARIABLE = "PIPECTL_CONSOLE_PASSWORD"  # handed by the parent, never on the command line
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'{}; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_files() -> dict[str, bytes]:
    """The app as shipped in the package (templates/console), read once."""
    folder = files("generator.templates") / "console"
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and Path(entry.name).suffix in STATIC_TYPES
    }


class ConsoleApp:
    """The WSGI application; `base` is the address the browser uses (the registered redirect URI)."""

    def __init__(self, endpoint: str, region: str, base: str, password: str | None = None) -> None:
        session = local_session(endpoint, region)
        self.endpoint = endpoint
        self.region = region
        self.base = base.rstrip("/")
        self.console = LazyConsole(session.client("cloudformation"), session.client("cognito-idp"), password)
        self.cognito = session.client("cognito-idp")
        self.ddb = session.client("dynamodb")
        self.files = static_files()
        self.hosted_ui = HostedUi(self._pool, cognito_password(lambda: self.cognito))
        self._verifiers: dict[str, Verifier] = {}
        self._discovered: dict[str, Any] = {}
        self._retry_at = 0.0

    def _pool(self) -> Pool | None:
        """The pool the local hosted UI signs in to; none with OIDC (the provider has its own pages)."""
        found = self.console.get()
        return Pool(found.pool_id, found.client_id, f"{self.base}/") if isinstance(found, ConsoleStack) else None

    def verifier(self, found: ConsoleStack | OidcConsole) -> Verifier:
        if isinstance(found, OidcConsole):
            if found.issuer not in self._verifiers:  # the keys' address comes from the discovery document
                jwks = str(self.discovered(found)["jwks_uri"])
                self._verifiers[found.issuer] = Verifier(
                    found.issuer, found.client_id, jwks, groups_claim=found.groups_claim, cognito=False
                )
            return self._verifiers[found.issuer]
        if found.pool_id not in self._verifiers:
            self._verifiers[found.pool_id] = Verifier(
                f"https://cognito-idp.{self.region}.amazonaws.com/{found.pool_id}",
                found.client_id,
                f"{self.endpoint}/{found.pool_id}/.well-known/jwks.json",
            )
        return self._verifiers[found.pool_id]

    def discovered(self, found: OidcConsole) -> Any:
        """The issuer's discovery document, kept once read; a failure is kept for a while, not retried per request."""
        kept = self._discovered.get(found.issuer)
        if isinstance(kept, TokenRejected) and time.monotonic() < self._retry_at:
            raise kept
        if kept is None or isinstance(kept, TokenRejected):
            try:
                kept = self._discovered[found.issuer] = discover(found.issuer)
            except TokenRejected as exc:
                self._discovered[found.issuer], self._retry_at = exc, time.monotonic() + DISCOVERY_RETRY_S
                raise
        return kept

    def config(self) -> dict[str, Any]:
        found = self.console.get()
        sign_in: dict[str, Any]
        if isinstance(found, OidcConsole):
            sign_in = {"issuer": found.issuer, "clientId": found.client_id, "scopes": ["openid", "email", "profile"]}
        else:
            sign_in = {
                "authorizeUrl": f"{self.base}/oauth2/authorize",
                "tokenUrl": f"{self.base}/oauth2/token",
                "logoutUrl": f"{self.base}/logout",
                "clientId": found.client_id if found else None,
                "scopes": ["openid", "email"],
            }
        return {
            "graphqlUrl": f"{self.base}/graphql",
            "refreshSeconds": 3,
            "signIn": {**sign_in, "redirectUri": f"{self.base}/"},
        }

    def content_security_policy(self) -> str:
        """The app talks to this server only, and with OIDC to the provider (discovery and token endpoint)."""
        found = self.console.get()
        if not isinstance(found, OidcConsole):
            return CONTENT_SECURITY_POLICY.format("")
        origins = {_origin(found.issuer)}
        with contextlib.suppress(TokenRejected):  # an unreachable provider: the app says so itself
            origins.add(_origin(str(self.discovered(found).get("token_endpoint") or found.issuer)))
        return CONTENT_SECURITY_POLICY.format("".join(f" {o}" for o in sorted(origins)))

    def graphql(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        found = self.console.get()
        if found is None:
            return _graphql_error(
                503, "the pipectl-console stack is not deployed yet", "ServiceUnavailable", request_id
            )
        try:
            who = self.verifier(found).verify(request.headers.get("Authorization"))
        except TokenRejected as exc:
            return _graphql_error(401, f"You are not authorized: {exc}", "UnauthorizedException", request_id)
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _graphql_error(
                400, "the body must be JSON with a query", "MalformedHttpRequestException", request_id
            )
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else None
        from generator.deploy.local.console import Identity, answer

        result = answer(body["query"], variables, Identity(who.subject, who.groups), self.ddb, found.table)
        return _json(200, result, {"x-amzn-RequestId": request_id})

    def dispatch(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/graphql" and method == "POST":
            return self.graphql(request)
        if path == "/config.json":
            return _json(200, self.config(), {"Cache-Control": "no-store"})
        if path == "/oauth2/authorize" and method in ("GET", "POST"):
            params = request.args if method == "GET" else request.form
            hosted = self.hosted_ui.authorize if method == "GET" else self.hosted_ui.sign_in
            return _page(hosted(params.to_dict()))
        if path == "/oauth2/token" and method == "POST":
            return _page(self.hosted_ui.token(request.form.to_dict()))
        if path == "/logout":
            return _page(self.hosted_ui.logout(request.args.to_dict()))
        if path == "/favicon.ico":
            return Response(status=204)
        if path == "/health":
            return Response("ok", content_type="text/plain")
        name = "index.html" if path == "/" else path.lstrip("/")
        if method == "GET" and name in self.files:
            return Response(self.files[name], content_type=STATIC_TYPES[Path(name).suffix])
        raise NotFound()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = exc.get_response(environ)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = self.content_security_policy()
        return response(environ, start_response)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})


def _graphql_error(status: int, message: str, error_type: str, request_id: str) -> Response:
    body = {"data": None, "errors": [{"message": message, "errorType": error_type}]}
    return _json(status, body, {"x-amzn-RequestId": request_id})


def _page(page: Page) -> Response:
    response = Response(page.body, status=page.status, content_type=page.content_type)
    if page.location:
        response.headers["Location"] = page.location
    response.headers["Cache-Control"] = "no-store"
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description="the local pipectl console (started by pipectl up / console)")
    parser.add_argument("--endpoint", required=True, help="the local AWS endpoint")
    parser.add_argument("--region", required=True, help="the console stack's region")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    password = os.environ.pop(PASSWORD_VARIABLE, None)
    app = ConsoleApp(args.endpoint, args.region, f"http://{LOOPBACK}:{args.port}", password)
    make_server(LOOPBACK, args.port, app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
