"""The local stand-in for Cognito's hosted UI: the authorization code flow with PKCE (S256).

`GET /oauth2/authorize` shows a sign-in form; its `POST` checks the username and password against the
local Cognito user pool for real (`AdminInitiateAuth` through boto3) and sends the browser back with
a one-time code bound to the client, the redirect URI and the PKCE challenge; `POST /oauth2/token`
gives the pool's tokens for that code only with the matching `code_verifier`. Nothing here trusts the
browser: an unknown client or redirect URI gets an error page, never a redirect. Who checks the password
and issues the tokens is one function (`cognito_password`, the local pool), so the same flow can stand
for any OpenID Connect provider, whose discovery document `discovery_document` writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import ClientError

CODE_LIFETIME_S = 300.0
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
BAD_CREDENTIALS = "Incorrect username or password."


@dataclass(frozen=True)
class Pool:
    """The user pool and app client the console signs in with, and the one address it may return to."""

    pool_id: str
    client_id: str
    redirect_uri: str


@dataclass(frozen=True)
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    tokens: Mapping[str, Any]
    expires_at: float


@dataclass(frozen=True)
class Page:
    """An answer of the hosted UI: a status, a body and its content type, and where to send the browser."""

    status: int
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


class Refused(Exception):
    """The user could not be signed in: the message the form shows."""


Authenticate = Callable[[Pool, str, str], Mapping[str, Any]]
"""(pool, username, password) -> the tokens to hand out (id_token, access_token, expires_in), or Refused."""


def cognito_password(cognito: Callable[[], Any]) -> Authenticate:
    """Check the password in the local Cognito user pool; its tokens are the pool's own."""

    def authenticate(pool: Pool, username: str, password: str) -> Mapping[str, Any]:
        try:
            answer = cognito().admin_initiate_auth(
                UserPoolId=pool.pool_id,
                ClientId=pool.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NotAuthorizedException", "UserNotFoundException", "InvalidParameterException"):
                raise Refused(BAD_CREDENTIALS) from exc
            raise
        if "AuthenticationResult" not in answer:
            challenge = answer.get("ChallengeName", "a challenge")
            raise Refused(f"This user must answer {challenge}, which the local sign-in page does not offer.")
        result = answer["AuthenticationResult"]
        return {
            "id_token": result["IdToken"],
            "access_token": result["AccessToken"],
            "expires_in": int(result.get("ExpiresIn", 3600)),
            "token_type": "Bearer",
        }

    return authenticate


def discovery_document(issuer: str, base: str, jwks_uri: str) -> dict[str, Any]:
    """What an OpenID Connect provider publishes at `{issuer}/.well-known/openid-configuration` for
    this flow: the endpoints of `base`, the code flow with PKCE S256, RS256 ID tokens."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/oauth2/authorize",
        "token_endpoint": f"{base}/oauth2/token",
        "end_session_endpoint": f"{base}/logout",
        "jwks_uri": jwks_uri,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["none"],
    }


class HostedUi:
    """Codes are held in memory, used once, and expire after five minutes, as Cognito's do."""

    def __init__(
        self, pool: Callable[[], Pool | None], authenticate: Authenticate, clock: Callable[[], float] = time.time
    ):
        self.pool = pool
        self.authenticate = authenticate
        self.clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def _request_error(self, params: Mapping[str, str]) -> tuple[Pool | None, str | None]:
        pool = self.pool()
        if pool is None:
            return None, "The console's user pool is not deployed yet: wait for the pipectl-console stack, then reload."
        if params.get("client_id") != pool.client_id:
            return pool, "Unknown app client."
        if params.get("redirect_uri") != pool.redirect_uri:
            return pool, "This redirect URI is not registered for the app client."
        if params.get("response_type") != "code":
            return pool, "Only the authorization code flow (response_type=code) is offered."
        if params.get("code_challenge_method") != "S256" or not CHALLENGE.match(params.get("code_challenge", "")):
            return pool, "A PKCE code challenge with method S256 is required."
        return pool, None

    def authorize(self, params: Mapping[str, str]) -> Page:
        _, error = self._request_error(params)
        if error:
            return Page(400, _page("Sign-in is not possible", f"<p role='alert'>{html.escape(error)}</p>"))
        return Page(200, _form(params))

    def sign_in(self, form: Mapping[str, str]) -> Page:
        pool, error = self._request_error(form)
        if error or pool is None:
            return Page(400, _page("Sign-in is not possible", f"<p role='alert'>{html.escape(error or '')}</p>"))
        state = {"state": form["state"]} if form.get("state") else {}
        if form.get("cancel"):  # the user declined: the app hears it as OAuth's access_denied
            declined = {"error": "access_denied", "error_description": "the user cancelled the sign-in", **state}
            return Page(302, location=f"{pool.redirect_uri}?{urlencode(declined)}")
        try:
            tokens = self.authenticate(pool, form.get("username", ""), form.get("password", ""))
        except Refused as exc:
            return Page(401, _form(form, str(exc)))
        code = secrets.token_urlsafe(32)
        grant = Grant(
            pool.client_id, pool.redirect_uri, form["code_challenge"], dict(tokens), self.clock() + CODE_LIFETIME_S
        )
        with self._lock:
            self._grants = {k: g for k, g in self._grants.items() if g.expires_at > self.clock()}
            self._grants[code] = grant
        return Page(302, location=f"{pool.redirect_uri}?{urlencode({'code': code, **state})}")

    def token(self, form: Mapping[str, str]) -> Page:
        """The code is spent by the first attempt, right or wrong: a guessed verifier gets one try."""
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "only authorization_code is offered")
        with self._lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at <= self.clock():
            return _oauth_error("invalid_grant", "the code is unknown, used or expired")
        if form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant", "the code was issued to another client or redirect URI")
        verifier = form.get("code_verifier", "")
        if not VERIFIER.match(verifier):
            return _oauth_error("invalid_request", "code_verifier must be 43 to 128 unreserved characters")
        if not hmac.compare_digest(s256(verifier), grant.challenge):
            return _oauth_error("invalid_grant", "code_verifier does not match the code challenge")
        return Page(200, json.dumps(dict(grant.tokens)), "application/json")

    def logout(self, params: Mapping[str, str]) -> Page:
        """Cognito's `logout_uri`, or OpenID Connect's `post_logout_redirect_uri`: the registered address only."""
        pool = self.pool()
        back = params.get("logout_uri") or params.get("post_logout_redirect_uri")
        if pool is None or params.get("client_id") != pool.client_id or back != pool.redirect_uri:
            return Page(400, _page("Sign-out is not possible", "<p role='alert'>Unknown app client or logout URI.</p>"))
        return Page(302, location=pool.redirect_uri)


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def _oauth_error(error: str, description: str) -> Page:
    return Page(400, json.dumps({"error": error, "error_description": description}), "application/json")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        "content='width=device-width, initial-scale=1'><title>"
        f"{html.escape(title)} · pipectl local sign-in</title><link rel='stylesheet' href='/style.css'></head>"
        "<body><header class='top'><p class='brand'>pipectl console · local sign-in</p></header>"
        f"<main id='main' class='signin'><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


HIDDEN = ("response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method")


def _form(params: Mapping[str, str], error: str | None = None) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{html.escape(params.get(name, ''), quote=True)}'>"
        for name in HIDDEN
    )
    alert = f"<p class='error' role='alert' id='signin-error'>{html.escape(error)}</p>" if error else ""
    described = " aria-describedby='signin-error'" if error else ""
    username = html.escape(params.get("username", ""), quote=True)
    return _page(
        "Sign in",
        f"<p>The local console's user pool. <code>pipectl up</code> printed the user and password.</p>{alert}"
        f"<form method='post' action='/oauth2/authorize'>{hidden}"
        "<p><label for='username'>Email</label><br>"
        "<input id='username' name='username' type='email' autocomplete='username' required "
        f"value='{username}'{described}></p>"
        "<p><label for='password'>Password</label><br>"
        "<input id='password' name='password' type='password' autocomplete='current-password' "
        f"required{described}></p>"
        "<p><button type='submit' class='primary'>Sign in</button> "
        "<button type='submit' name='cancel' value='1' formnovalidate>Cancel</button></p></form>",
    )
