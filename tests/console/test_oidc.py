"""The console signing in with an OpenID Connect provider, in a real browser.

The console stack on an embedded local AWS says `auth: oidc` through its outputs (issuer, client, groups
claim), so the local console serves the app in OIDC mode and verifies that issuer's tokens. The issuer
is the small provider in `tests.console.oidc` on another loopback port: the app finds its endpoints
through its discovery document alone. Its tokens carry the `groups` claim; `_console.yaml`'s mapping,
as apply writes it into the state table, shows members of `shop-team` the shop pipeline only, and
members of `admins` every pipeline.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import requests
from boto3.dynamodb.types import TypeSerializer

from generator.contract import (
    ACCESS_SK,
    CONSOLE_PK,
    CONSOLE_STACK,
    FEED_ATTRIBUTE,
    FEED_INDEX,
    FEED_SORT_ATTRIBUTE,
    META_SK,
    PIPELINE_PK_PREFIX,
    STATE_TABLE_OUTPUT,
)
from generator.deploy.local import local_session, start_embedded
from generator.deploy.local.console.server import ConsoleApp
from generator.deploy.state_layout import pipeline_feed_keys
from tests.console.conftest import CHROMIUM, SCREENS
from tests.console.oidc import Provider, User, serving

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (.ci/run does)", allow_module_level=True)

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
CLIENT_ID = "pipectl-console"
PASSWORD = "oidc-Passw0rd!"
ADMIN = "admin@example.com"
SHOP = "shop-dev@example.com"
PIPELINES = ("backoffice", "mobile", "shop")


@dataclass(frozen=True)
class Served:
    url: str
    provider: Provider
    app: ConsoleApp


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _console_template(issuer: str) -> dict[str, Any]:
    """What the local console reads of an OIDC console stack: the state table and the sign-in outputs."""
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    by_sort_key = [{"AttributeName": "sk", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}]
    by_feed = [
        {"AttributeName": FEED_ATTRIBUTE, "KeyType": "HASH"},
        {"AttributeName": FEED_SORT_ATTRIBUTE, "KeyType": "RANGE"},
    ]
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": keys,
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("pk", "sk", FEED_ATTRIBUTE, FEED_SORT_ATTRIBUTE)
            ],
            "GlobalSecondaryIndexes": [
                {"IndexName": "BySortKey", "KeySchema": by_sort_key, "Projection": {"ProjectionType": "ALL"}},
                {"IndexName": FEED_INDEX, "KeySchema": by_feed, "Projection": {"ProjectionType": "ALL"}},
            ],
        },
    }
    return {
        "Resources": {"StateTable": table},
        "Outputs": {
            STATE_TABLE_OUTPUT: {"Value": {"Ref": "StateTable"}},
            "OidcIssuer": {"Value": issuer},
            "OidcClientId": {"Value": CLIENT_ID},
            "GroupsClaim": {"Value": "groups"},
        },
    }


def _put(ddb: Any, table: str, item: dict[str, Any]) -> None:
    serialize = TypeSerializer().serialize
    ddb.put_item(TableName=table, Item={k: serialize(v) for k, v in item.items()})


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    console_port, provider_port = _free_port(), _free_port()
    url = f"http://127.0.0.1:{console_port}/"
    users = {ADMIN: User(PASSWORD, ("admins",)), SHOP: User(PASSWORD, ("shop-team",))}
    provider = Provider(f"http://127.0.0.1:{provider_port}", CLIENT_ID, url, users)
    with start_embedded() as aws:
        requests.post(f"{aws.endpoint}/moto-api/reset", timeout=10)
        session = local_session(aws.endpoint, REGION)
        cfn = session.client("cloudformation")
        cfn.create_stack(StackName=CONSOLE_STACK, TemplateBody=json.dumps(_console_template(provider.issuer)))
        outputs = cfn.describe_stacks(StackName=CONSOLE_STACK)["Stacks"][0]["Outputs"]
        table = next(o["OutputValue"] for o in outputs if o["OutputKey"] == STATE_TABLE_OUTPUT)
        ddb = session.client("dynamodb")
        for name in PIPELINES:
            item = {"pk": f"{PIPELINE_PK_PREFIX}{name}", "sk": META_SK, "name": name, "envs": ["test"]}
            _put(ddb, table, {**item, **pipeline_feed_keys(name)})  # as the controller writes it
        _put(
            ddb, table, {"pk": CONSOLE_PK, "sk": ACCESS_SK, "admins_group": "admins", "groups": {"shop-team": ["shop"]}}
        )
        app = ConsoleApp(aws.endpoint, REGION, url.rstrip("/"))
        with serving(provider, provider_port), serving(app, console_port):
            yield Served(url, provider, app)


def sign_in_form(page: Any, served: Served, user: str) -> None:
    page.goto(served.url)
    page.wait_for_selector("main[data-view=signin]")
    with page.expect_request(lambda r: r.url.endswith("/.well-known/openid-configuration")):
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.provider.base}/oauth2/authorize?*")
    page.get_by_label("Email").fill(user)
    page.get_by_label("Password").fill(PASSWORD)


def pipelines_shown(page: Any) -> list[str]:
    page.wait_for_selector("main[data-view=pipelines] #content[aria-busy=false]")
    names: list[str] = page.locator("main table tbody th").all_inner_texts()
    return names


def test_config_names_the_issuer_and_the_csp_lets_the_app_reach_it(served: Served) -> None:
    answer = requests.get(f"{served.url}config.json", timeout=10)
    assert answer.json()["signIn"] == {
        "issuer": served.provider.issuer,
        "clientId": CLIENT_ID,
        "redirectUri": served.url,
        "scopes": ["openid", "email", "profile"],
    }
    assert f"connect-src 'self' {served.provider.base};" in answer.headers["Content-Security-Policy"]


def test_an_admin_signs_in_through_discovery_sees_everything_and_signs_out(page: Any, served: Served) -> None:
    sign_in_form(page, served, ADMIN)
    with page.expect_response(lambda r: r.url == f"{served.provider.base}/oauth2/token") as exchanged:
        page.get_by_role("button", name="Sign in").click()
    assert exchanged.value.status == 200
    assert sorted(pipelines_shown(page)) == list(PIPELINES)
    assert "code=" not in page.url and page.evaluate("() => Object.keys(localStorage).length") == 0
    assert ADMIN in page.locator("#account").inner_text()
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "oidc-pipelines.png"), full_page=True)
    with page.expect_request(lambda r: r.url.startswith(f"{served.provider.base}/logout?")) as left:
        page.get_by_role("button", name="Sign out").click()
    assert f"post_logout_redirect_uri={quote(served.url, safe='')}" in left.value.url
    assert "id_token_hint" not in left.value.url
    page.wait_for_selector("main[data-view=signin]")
    assert page.url.startswith(served.url)
    assert page.evaluate("() => sessionStorage.getItem('pipectl.session')") is None


def test_without_an_end_session_endpoint_sign_out_ends_the_session_here(page: Any, served: Served) -> None:
    def without_logout(route: Any) -> None:
        document = route.fetch().json()
        del document["end_session_endpoint"]
        route.fulfill(json=document, headers={"Access-Control-Allow-Origin": "*"})

    page.route("**/.well-known/openid-configuration", without_logout)
    sign_in_form(page, served, SHOP)
    page.get_by_role("button", name="Sign in").click()
    assert pipelines_shown(page) == ["shop"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("main[data-view=signin]")
    assert page.get_by_role("alert").inner_text() == "You have signed out."
    assert page.url.startswith(served.url)
    assert page.evaluate("() => sessionStorage.getItem('pipectl.session')") is None


def test_a_member_of_a_mapped_group_sees_only_its_pipelines(page: Any, served: Served) -> None:
    sign_in_form(page, served, SHOP)
    page.get_by_role("button", name="Sign in").click()
    assert pipelines_shown(page) == ["shop"]


def test_a_cancelled_sign_in_shows_why_and_offers_sign_in_again(page: Any, served: Served) -> None:
    sign_in_form(page, served, ADMIN)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector("main[data-view=signin]")
    assert "error=" not in page.url
    assert "Sign-in was refused: the user cancelled the sign-in" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Sign in").is_visible()
    page.screenshot(path=str(SCREENS / "oidc-access-denied.png"), full_page=True)


def test_a_refused_code_exchange_shows_the_providers_reason(page: Any, served: Served) -> None:
    """The verifier is altered on its way: the provider itself answers 400 invalid_grant."""

    def wrong_verifier(route: Any) -> None:
        body = route.request.post_data or ""
        route.continue_(post_data=body.replace("code_verifier=", "code_verifier=x", 1))

    page.route(f"{served.provider.base}/oauth2/token", wrong_verifier)
    sign_in_form(page, served, ADMIN)
    with page.expect_response(lambda r: r.url == f"{served.provider.base}/oauth2/token") as exchanged:
        page.get_by_role("button", name="Sign in").click()
    assert exchanged.value.status == 400
    page.wait_for_selector("main[data-view=signin]")
    assert "Sign-in failed: code_verifier does not match" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Sign in").is_visible()


def test_an_unreachable_provider_shows_a_message_and_the_button(page: Any, served: Served) -> None:
    page.route("**/.well-known/openid-configuration", lambda route: route.abort("connectionrefused"))
    page.goto(served.url)
    page.wait_for_selector("main[data-view=signin]")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert f"The sign-in provider {served.provider.issuer} could not be reached" in alert.inner_text()
    assert page.get_by_role("button", name="Sign in").is_visible()
    page.screenshot(path=str(SCREENS / "oidc-unreachable.png"), full_page=True)


def test_a_token_of_another_issuer_gets_401(served: Served) -> None:
    other = Provider(served.provider.base, CLIENT_ID, served.url, {ADMIN: User(PASSWORD, ("admins",))})
    forged = other.authenticate(other.pool, ADMIN, PASSWORD)["id_token"]  # same claims, another key
    answer = requests.post(
        f"{served.url}graphql", json={"query": "{ pipelines { name } }"}, headers={"Authorization": forged}, timeout=10
    )
    assert answer.status_code == 401
    good = served.provider.authenticate(served.provider.pool, SHOP, PASSWORD)["id_token"]
    answer = requests.post(
        f"{served.url}graphql", json={"query": "{ pipelines { name } }"}, headers={"Authorization": good}, timeout=10
    )
    assert answer.json() == {"data": {"pipelines": [{"name": "shop"}]}}
