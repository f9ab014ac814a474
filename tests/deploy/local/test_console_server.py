"""The local console server over HTTP (werkzeug's test client) against the embedded AWS: the hosted-UI
stand-in checks passwords in the local Cognito user pool and holds codes to PKCE, and /graphql lets
no token through that the pool did not sign for this client and that has not expired."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.test import Client, TestResponse

from generator.contract import CONSOLE_STACK, STATE_TABLE_OUTPUT
from generator.deploy.local import EmbeddedAws, LocalSession
from generator.deploy.local.console.pool import (
    CONSOLE_USER,
    OidcConsole,
    read_console,
    read_console_stack,
    set_console_user,
)
from generator.deploy.local.console.server import ConsoleApp
from generator.deploy.local.console.tokens import TokenRejected, Verifier, discover
from tests.deploy.local.conftest import REGION, create_stack

BASE = "http://127.0.0.1:8765"
PASSWORD = "Sup3r-secret-local-pw"


def console_template() -> dict[str, Any]:
    """The parts of the console stack the local console reads: the state table, the pool and its client."""
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "BySortKey",
                    "KeySchema": [
                        {"AttributeName": "sk", "KeyType": "HASH"},
                        {"AttributeName": "pk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    }
    pool = {
        "Type": "AWS::Cognito::UserPool",
        "Properties": {"UserPoolName": "console", "UsernameAttributes": ["email"]},
    }
    client = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {"UserPoolId": {"Ref": "Pool"}, "ClientName": "app"},
    }
    return {
        "Resources": {"StateTable": table, "Pool": pool, "AppClient": client},
        "Outputs": {
            STATE_TABLE_OUTPUT: {"Value": {"Ref": "StateTable"}},
            "UserPoolId": {"Value": {"Ref": "Pool"}},
            "UserPoolClientId": {"Value": {"Ref": "AppClient"}},
        },
    }


@pytest.fixture(scope="module")
def outputs(session: LocalSession) -> dict[str, str]:
    return create_stack(session, console_template(), CONSOLE_STACK)


@pytest.fixture(scope="module")
def app(aws: EmbeddedAws, outputs: dict[str, str]) -> ConsoleApp:
    return ConsoleApp(aws.endpoint, REGION, BASE, PASSWORD)


@pytest.fixture
def client(app: ConsoleApp) -> Iterator[Client]:
    yield Client(app)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id: str, challenge: str, **override: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": f"{BASE}/",
        "state": "s-123",
        "scope": "openid email",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **override,
    }


def sign_in(client: Client, client_id: str, challenge: str, password: str = PASSWORD) -> TestResponse:
    form = {**authorize_params(client_id, challenge), "username": CONSOLE_USER, "password": password}
    return client.post("/oauth2/authorize", data=form)


def code_of(response: TestResponse) -> str:
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{BASE}/"
    query = parse_qs(location.query)
    assert query["state"] == ["s-123"]
    return query["code"][0]


def exchange(client: Client, client_id: str, code: str, verifier: str) -> TestResponse:
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": f"{BASE}/",
        "code_verifier": verifier,
    }
    return client.post("/oauth2/token", data=form)


def tokens(client: Client, client_id: str) -> dict[str, Any]:
    verifier, challenge = pkce()
    answer = exchange(client, client_id, code_of(sign_in(client, client_id, challenge)), verifier)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json
    return body


def graphql(client: Client, token: str | None, query: str = "{ pipelines { name } }") -> TestResponse:
    headers = {"Authorization": token} if token is not None else {}
    return client.post("/graphql", json={"query": query}, headers=headers)


def test_config_names_the_pool_client_and_the_local_endpoints(client: Client, outputs: dict[str, str]) -> None:
    config = client.get("/config.json").json
    assert config["signIn"]["clientId"] == outputs["UserPoolClientId"]
    assert config["signIn"]["redirectUri"] == f"{BASE}/"
    assert config["graphqlUrl"] == f"{BASE}/graphql"


def test_the_app_is_served_with_a_strict_content_security_policy(client: Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b'<main id="main"' in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert client.get("/app.js").headers["Content-Type"].startswith("text/javascript")
    assert client.get("/../pyproject.toml").status_code == 404
    assert client.get("/server.py").status_code == 404


def test_a_wrong_password_is_refused_by_the_user_pool(client: Client, outputs: dict[str, str]) -> None:
    _, challenge = pkce()
    answer = sign_in(client, outputs["UserPoolClientId"], challenge, password="not-the-password")
    assert answer.status_code == 401
    assert "Location" not in answer.headers
    assert "Incorrect username or password." in answer.text
    assert "<label for='password'>" in answer.text


def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    client: Client, outputs: dict[str, str]
) -> None:
    _, challenge = pkce()
    params = authorize_params(outputs["UserPoolClientId"], challenge, redirect_uri="https://evil.example/")
    answer = client.get("/oauth2/authorize", query_string=params)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "redirect URI is not registered" in answer.text


def test_sign_in_without_a_pkce_challenge_is_refused(client: Client, outputs: dict[str, str]) -> None:
    params = authorize_params(outputs["UserPoolClientId"], "", code_challenge_method="plain")
    answer = client.get("/oauth2/authorize", query_string=params)
    assert answer.status_code == 400 and "PKCE" in answer.text


def test_the_code_needs_the_verifier_and_is_spent_by_the_first_attempt(client: Client, outputs: dict[str, str]) -> None:
    client_id = outputs["UserPoolClientId"]
    verifier, challenge = pkce()
    code = code_of(sign_in(client, client_id, challenge))
    wrong = exchange(client, client_id, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json["error"] == "invalid_grant"
    again = exchange(client, client_id, code, verifier)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"


def test_the_code_is_bound_to_its_redirect_uri(client: Client, outputs: dict[str, str]) -> None:
    client_id = outputs["UserPoolClientId"]
    verifier, challenge = pkce()
    code = code_of(sign_in(client, client_id, challenge))
    form = {"grant_type": "authorization_code", "client_id": client_id, "code": code,
            "redirect_uri": "http://127.0.0.1:1/", "code_verifier": verifier}  # fmt: skip
    assert client.post("/oauth2/token", data=form).json["error"] == "invalid_grant"


def test_the_pool_tokens_answer_graphql_with_a_request_id(client: Client, outputs: dict[str, str]) -> None:
    issued = tokens(client, outputs["UserPoolClientId"])
    answer = graphql(client, issued["id_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json == {"data": {"pipelines": []}}
    assert len(answer.headers["x-amzn-RequestId"]) == 36
    assert graphql(client, f"Bearer {issued['access_token']}").status_code == 200


def test_a_graphql_error_keeps_appsync_shape_and_request_id(client: Client, outputs: dict[str, str]) -> None:
    issued = tokens(client, outputs["UserPoolClientId"])
    answer = graphql(client, issued["id_token"], "{ pipelinez { name } }")
    error = answer.json["errors"][0]
    assert "pipelinez" in error["message"] and error["errorType"]
    assert answer.headers["x-amzn-RequestId"]


def forged(token: str) -> str:
    """The same header and signature over a payload that names another subject and groups."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admins"]
    changed = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


def test_missing_forged_and_foreign_tokens_get_401(
    client: Client, outputs: dict[str, str], session: LocalSession
) -> None:
    issued = tokens(client, outputs["UserPoolClientId"])
    for token in (None, "not-a-jwt", forged(issued["id_token"])):
        answer = graphql(client, token)
        assert answer.status_code == 401, token
        assert answer.json["errors"][0]["errorType"] == "UnauthorizedException"
        assert answer.headers["x-amzn-RequestId"]
    cognito = session.client("cognito-idp")
    other = cognito.create_user_pool_client(UserPoolId=outputs["UserPoolId"], ClientName="other")["UserPoolClient"]
    foreign = cognito.admin_initiate_auth(
        UserPoolId=outputs["UserPoolId"],
        ClientId=other["ClientId"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": CONSOLE_USER, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    answer = graphql(client, foreign)
    assert answer.status_code == 401 and "another app client" in answer.json["errors"][0]["message"]


def test_an_expired_token_is_refused(app: ConsoleApp, client: Client, outputs: dict[str, str]) -> None:
    issued = tokens(client, outputs["UserPoolClientId"])
    found = app.console.get()
    assert found is not None
    live = app.verifier(found)
    later = Verifier(live.issuer, live.client_id, live.jwks_url, clock=lambda: 10**11)
    assert live.verify(issued["id_token"]).username == CONSOLE_USER
    with pytest.raises(TokenRejected, match="expired"):
        later.verify(issued["id_token"])


def test_logout_returns_only_to_the_registered_address(client: Client, outputs: dict[str, str]) -> None:
    ok = client.get("/logout", query_string={"client_id": outputs["UserPoolClientId"], "logout_uri": f"{BASE}/"})
    assert ok.status_code == 302 and ok.headers["Location"] == f"{BASE}/"
    bad = client.get("/logout", query_string={"client_id": outputs["UserPoolClientId"], "logout_uri": "https://x/"})
    assert bad.status_code == 400 and "Location" not in bad.headers


def test_a_cancelled_sign_in_returns_access_denied_to_the_registered_address_only(
    client: Client, outputs: dict[str, str]
) -> None:
    _, challenge = pkce()
    form = {**authorize_params(outputs["UserPoolClientId"], challenge), "cancel": "1"}
    answer = client.post("/oauth2/authorize", data=form)
    location = urlsplit(answer.headers["Location"])
    assert answer.status_code == 302 and f"{location.scheme}://{location.netloc}{location.path}" == f"{BASE}/"
    assert parse_qs(location.query) == {
        "error": ["access_denied"],
        "error_description": ["the user cancelled the sign-in"],
        "state": ["s-123"],
    }
    elsewhere = client.post("/oauth2/authorize", data={**form, "redirect_uri": "https://evil.example/"})
    assert elsewhere.status_code == 400 and "Location" not in elsewhere.headers


def test_logout_takes_the_openid_connect_parameter_too(client: Client, outputs: dict[str, str]) -> None:
    params = {"client_id": outputs["UserPoolClientId"], "post_logout_redirect_uri": f"{BASE}/"}
    ok = client.get("/logout", query_string=params)
    assert ok.status_code == 302 and ok.headers["Location"] == f"{BASE}/"
    bad = client.get("/logout", query_string={**params, "post_logout_redirect_uri": "https://x/"})
    assert bad.status_code == 400


def test_the_local_user_joins_the_admins_group_the_stack_names(session: LocalSession, outputs: dict[str, str]) -> None:
    cognito = session.client("cognito-idp")
    pool = outputs["UserPoolId"]
    cognito.create_group(UserPoolId=pool, GroupName="platform-admins")
    set_console_user(cognito, pool, PASSWORD, admins_group="platform-admins")
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=CONSOLE_USER)["Groups"]
    assert [g["GroupName"] for g in groups] == ["platform-admins"]
    set_console_user(cognito, pool, PASSWORD, admins_group="absent")  # a pool without that group: no error
    cognito.admin_remove_user_from_group(UserPoolId=pool, Username=CONSOLE_USER, GroupName="platform-admins")
    cognito.delete_group(UserPoolId=pool, GroupName="platform-admins")


def test_an_oidc_console_stack_is_read_as_such(session: LocalSession) -> None:
    cfn = session.client("cloudformation")
    cfn.create_stack(
        StackName="oidc-console",
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {
                    STATE_TABLE_OUTPUT: {"Value": "table"},
                    "OidcIssuer": {"Value": "https://login.example.com/t"},
                    "OidcClientId": {"Value": "app"},
                    "GroupsClaim": {"Value": "roles"},
                },
            }
        ),
    )

    class Named:
        def describe_stacks(self, StackName: str) -> Any:
            return cfn.describe_stacks(StackName="oidc-console")

    assert read_console(Named()) == OidcConsole("table", "https://login.example.com/t", "app", "roles")
    assert read_console_stack(Named()) is None  # no pool: nobody to give a password to


def _signed(key: Any, claims: dict[str, Any]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(key.sign(f'{head}.{body}'.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def test_an_oidc_verifier_checks_the_audience_and_reads_the_groups_claim() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def b64int(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "n": b64int(numbers.n), "e": b64int(numbers.e)}]}
    verifier = Verifier("https://idp.example", "app", "unused", lambda _: jwks, groups_claim="roles", cognito=False)
    claims = {"iss": "https://idp.example", "sub": "u1", "exp": 2**40, "roles": "ops, shop-team"}
    assert verifier.verify(_signed(key, {**claims, "aud": ["other", "app"]})).groups == ("ops", "shop-team")
    assert verifier.verify(_signed(key, {**claims, "aud": "app", "roles": ["a"]})).groups == ("a",)
    with pytest.raises(TokenRejected, match="another app client"):
        verifier.verify(_signed(key, {**claims, "aud": "other"}))
    with pytest.raises(TokenRejected, match="another user pool"):
        verifier.verify(_signed(key, {**claims, "aud": "app", "iss": "https://evil.example"}))


def test_discovery_must_name_the_issuer_it_is_served_for() -> None:
    good = {"issuer": "https://idp.example/", "jwks_uri": "https://idp.example/keys"}
    assert discover("https://idp.example", lambda url: good)["jwks_uri"] == "https://idp.example/keys"
    with pytest.raises(TokenRejected, match="another issuer"):
        discover("https://idp.example", lambda url: {**good, "issuer": "https://evil.example"})

    def unreachable(url: str) -> Any:
        raise OSError("connection refused")

    with pytest.raises(TokenRejected, match="could not be read"):
        discover("https://idp.example", unreachable)
