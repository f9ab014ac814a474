"""The console in a real browser against a local `pipectl up`: sign in, the shipped pipelines, a run's
plan, the failed stack, sign out; a refused token and an API error. Each view is screenshot under
build/console-screens/ and passes the accessibility checks in `a11y`."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.console import a11y
from tests.console.conftest import BROKEN, BROKEN_STACK, CHROMIUM, SCREENS, SHIPPED, TEAM, TEAM_PIPELINE, Deployed

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (.ci/run does)", allow_module_level=True)

pytestmark = pytest.mark.slow


def shot(page: Any, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True, timeout=60_000)


def accessible(page: Any, landmarks: tuple[str, ...] = ("main", "header", "nav")) -> None:
    problems = a11y.check(page, landmarks)
    assert not problems, problems


def view(page: Any, name: str) -> None:
    """The view is shown and complete (a view may show a first, partial picture before)."""
    page.wait_for_selector(
        f"main[data-view={name}]" if name == "signin" else f"main[data-view={name}] #content[aria-busy=false]"
    )


def sign_in(page: Any, deployed: Deployed, route: str = "") -> None:
    page.goto(f"{deployed.url}{route}")
    view(page, "signin")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").fill(deployed.user)
    page.get_by_label("Password").fill(deployed.password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_lists_the_shipped_pipelines(page: Any, deployed: Deployed) -> None:
    page.goto(deployed.url)
    view(page, "signin")
    shot(page, "signin")
    accessible(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("form[action='/oauth2/authorize']")
    shot(page, "signin-form")
    accessible(page, ("main", "header"))
    page.get_by_label("Email").fill(deployed.user)
    page.get_by_label("Password").fill(deployed.password)
    page.get_by_role("button", name="Sign in").click()
    view(page, "pipelines")
    assert "code=" not in page.url and "state=" not in page.url
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    names = page.locator("main table tbody th").all_inner_texts()
    assert set(SHIPPED) <= set(names), names
    assert deployed.user in page.locator("#account").inner_text()
    shot(page, "pipelines")
    accessible(page)


def test_a_wrong_password_keeps_the_form_with_a_message(page: Any, deployed: Deployed) -> None:
    page.goto(deployed.url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email").fill(deployed.user)
    page.get_by_label("Password").fill("wrong-password-1A!")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Incorrect username or password."


def test_a_pipeline_shows_its_stacks_and_their_graph(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed, "#/pipelines/shop")
    view(page, "pipeline")
    stacks = page.locator("table:has(caption:text-is('Stacks')) tbody tr")
    assert stacks.count() == 8
    assert page.locator("figure.graph svg g.node").count() == 8
    assert all(
        s in ("done", "CREATE_COMPLETE")
        for s in page.locator("table:has(caption:text-is('Stacks')) .badge").all_inner_texts()
    )
    shot(page, "pipeline-shop")
    accessible(page)


def test_keyboard_alone_opens_a_pipeline(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed)
    view(page, "pipelines")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent") == "shop":
            break
    page.keyboard.press("Enter")
    view(page, "pipeline")
    assert page.locator("h1").inner_text() == "Pipeline shop"


def test_a_run_shows_its_plan(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed, "#/pipelines/shop")
    view(page, "pipeline")
    page.locator("a[aria-label^='apply ']").first.click()
    view(page, "run")
    plan = page.locator("article.plan")
    assert plan.count() == 1, "the run's plan is not shown"
    assert plan.locator("h3, h4").count() >= 1
    assert "pipectl-shop-test-storage" in plan.inner_text()
    assert plan.locator("details > summary").count() >= 1, "plan.md's folded parts are not folded"
    assert "<details>" not in plan.inner_text()
    shot(page, "run")
    accessible(page)


def test_the_failed_stack_is_shown_with_its_reason(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed, f"#/pipelines/{BROKEN}")
    view(page, "pipeline")
    row = page.locator("table:has(caption:text-is('Stacks')) tbody tr", has_text=BROKEN_STACK)
    assert row.locator(".badge.bad").count() == 1, row.inner_text()
    assert "failed to create: [ContainerInsightsLogGroup]" in row.inner_text()
    assert page.locator("figure.graph g.node.bad").count() >= 1
    shot(page, "pipeline-failed")
    accessible(page)


def test_runs_and_approvals_views(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed, "#/runs")
    view(page, "runs")
    pipelines = set(page.locator("main table tbody td:nth-child(2)").all_inner_texts())
    assert set(SHIPPED) | {BROKEN} <= pipelines
    assert page.locator("main .badge.bad", has_text="failed").count() >= 1
    shot(page, "runs")
    accessible(page)
    page.get_by_role("link", name="Approvals").click()
    view(page, "approvals")
    shot(page, "approvals")
    accessible(page)


def test_each_list_view_asks_one_request_per_page(page: Any, deployed: Deployed) -> None:
    """The pipelines with every environment, and the runs of every pipeline, each come in one GraphQL request."""
    sign_in(page, deployed)
    view(page, "pipelines")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.post_data or "") if r.url.endswith("/graphql") else None)
    shown = "(t) => document.querySelector('main h1')?.textContent === t && document.querySelector('#content')?.getAttribute('aria-busy') === 'false'"
    for hash_, title in (("#/runs", "Runs"), ("#/pipelines", "Pipelines"), ("#/runs?pipeline=shop", "Runs of shop")):
        asked.clear()
        page.evaluate(f"() => {{ location.hash = '{hash_}'; }}")
        page.wait_for_function(shown, arg=title)
        assert len(asked) == 1, asked
    owners = set(page.locator("main table tbody td:nth-child(2)").all_inner_texts())
    assert owners == {"shop"}
    assert page.locator("h1").inner_text() == "Runs of shop"
    page.get_by_role("link", name="Show every pipeline").click()
    view(page, "runs")
    assert set(SHIPPED) <= set(page.locator("main table tbody td:nth-child(2)").all_inner_texts())
    page.get_by_role("link", name="Pipelines").click()
    view(page, "pipelines")
    rows = page.locator("main table tbody tr", has_text="shop").all_inner_texts()
    assert any("succeeded" in row or "done" in row for row in rows), rows


def test_sign_out_returns_to_sign_in(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed)
    view(page, "pipelines")
    page.get_by_role("button", name="Sign out").click()
    view(page, "signin")
    assert page.evaluate("() => sessionStorage.getItem('pipectl.session')") is None
    page.goto(f"{deployed.url}#/pipelines/shop")
    view(page, "signin")


def _forge(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "intruder@example.com"
    return f"{header}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b'=').decode()}.{signature}"


def test_a_forged_token_returns_cleanly_to_sign_in(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed)
    view(page, "pipelines")
    saved = json.loads(page.evaluate("() => sessionStorage.getItem('pipectl.session')"))
    saved["idToken"] = _forge(saved["idToken"])
    page.evaluate("(s) => sessionStorage.setItem('pipectl.session', s)", json.dumps(saved))
    with page.expect_response(lambda r: r.url.endswith("/graphql")) as answered:
        page.reload()
    assert answered.value.status == 401
    view(page, "signin")
    assert "sign in again" in page.get_by_role("alert").inner_text()
    shot(page, "signin-after-401")


def test_an_expired_session_returns_to_sign_in(page: Any, deployed: Deployed) -> None:
    sign_in(page, deployed)
    view(page, "pipelines")
    page.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('pipectl.session')); s.expiresAt = Date.now() - 1000;"
        " sessionStorage.setItem('pipectl.session', JSON.stringify(s)); }"
    )
    page.get_by_role("link", name="Runs").click()
    view(page, "signin")
    assert "session has ended" in page.get_by_role("alert").inner_text()


def test_a_graphql_error_shows_its_message_and_request_id(page: Any, deployed: Deployed) -> None:
    """The request is altered on its way (a field the schema lacks); the error and id are the server's own."""
    sign_in(page, deployed)
    view(page, "pipelines")

    def misspell(route: Any) -> None:
        body = route.request.post_data or ""
        if "query Pipelines" in body:
            route.continue_(post_data=body.replace("pipelinesPage(", "pipelinez(", 1))
        else:
            route.continue_()

    page.route("**/graphql", misspell)
    with page.expect_response(
        lambda r: r.url.endswith("/graphql") and "pipelinez" in (r.request.post_data or "")
    ) as answered:
        page.get_by_role("button", name="Sign out").focus()
        page.evaluate("() => { location.hash = '#/runs'; }")
        view(page, "runs")
        page.get_by_role("link", name="Pipelines").click()
    request_id = answered.value.headers["x-amzn-requestid"]
    view(page, "error")
    alert = page.get_by_role("alert").inner_text()
    assert re.search(r"Cannot query field .pipelinez.", alert), alert
    assert request_id in page.locator("code.request-id").inner_text()
    shot(page, "graphql-error")
    accessible(page)


def test_untrusted_markdown_stays_text(page: Any, deployed: Deployed) -> None:
    """The plan renderer builds elements only for Markdown syntax: markup in a plan is shown, never run."""
    page.goto(deployed.url)
    view(page, "signin")
    hostile = "# <img src=x onerror=alert(1)>\n\n<script>window.pwned = 1</script>\n\n| a |\n| --- |\n| <b>x</b> |\n\n[x](javascript:alert(1))"
    rendered = page.evaluate(
        """async (text) => {
            const { markdown } = await import("./markdown.js");
            const box = document.createElement("div");
            box.append(...markdown(text));
            return { html: box.innerHTML, text: box.textContent, hrefs: [...box.querySelectorAll("a")].map((a) => a.href) };
        }""",
        hostile,
    )
    assert "<img" not in rendered["html"] and "<script" not in rendered["html"] and "<b>" not in rendered["html"]
    assert "<script>window.pwned = 1</script>" in rendered["text"]
    assert rendered["hrefs"] == []
    assert page.evaluate("() => window.pwned") is None


def test_admins_see_every_pipeline_and_a_mapped_group_only_its_own(page: Any, deployed: Deployed) -> None:
    """`_console.yaml` maps shop-team to shop: the stack's admins group holds the local console user and
    the first administrator; a new member of shop-team signs in with the pool's own tokens and sees shop."""
    from generator.deploy.local import local_session
    from generator.deploy.local.console.pool import read_console_stack

    session = local_session(deployed.endpoint, "eu-west-1")
    cognito = session.client("cognito-idp")
    found = read_console_stack(session.client("cloudformation"))
    assert found is not None and found.admins_group == "admins"

    def groups_of(user: str) -> set[str]:
        listed = cognito.admin_list_groups_for_user(UserPoolId=found.pool_id, Username=user)["Groups"]
        return {g["GroupName"] for g in listed}

    assert groups_of(deployed.user) == {"admins"}
    assert groups_of("platform@example.com") == {"admins"}  # ConsoleAdmin, through the stack's attachment
    member, password = "shop-dev@example.com", "Shop-team-member-1!"
    cognito.create_group(UserPoolId=found.pool_id, GroupName=TEAM)
    cognito.admin_create_user(
        UserPoolId=found.pool_id,
        Username=member,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": member}, {"Name": "email_verified", "Value": "true"}],
    )
    cognito.admin_set_user_password(UserPoolId=found.pool_id, Username=member, Password=password, Permanent=True)
    cognito.admin_add_user_to_group(UserPoolId=found.pool_id, Username=member, GroupName=TEAM)
    sign_in(page, Deployed(deployed.url, member, password, deployed.workdir, deployed.endpoint, deployed.up))
    view(page, "pipelines")
    assert set(page.locator("main table tbody th").all_inner_texts()) == {TEAM_PIPELINE}  # a row per environment
    shot(page, "pipelines-team")
    page.get_by_role("link", name="Runs").click()
    view(page, "runs")
    assert set(page.locator("main table tbody td:nth-child(2)").all_inner_texts()) == {TEAM_PIPELINE}
