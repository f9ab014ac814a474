"""The console's paged lists on many pipelines: recentRuns and pipelinesPage, asked page after page with
each page's token, of the APPSYNC_JS resolvers (node) and of the local path, with and without groups.

A restricted caller's pages never hold another team's run or pipeline, and the tokens they are given
never name one either; an admin's pages add up to everything, newest run first, in one request each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.deploy.local.console import Identity, answer
from generator.deploy.state_layout import env_feed_keys, pipeline_feed_keys, run_feed_keys
from generator.spec.loader import load_directory
from generator.stacks.console import LIMITS, build_console
from tests.stacks.appsync_node import NODE, Resolvers, ask, seeded_table

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
TEAMS = {"team-a": ["alpha", "alpha-eu", "gamma"], "team-b": ["beta", "delta"]}
PIPELINES = sorted({*TEAMS["team-a"], *TEAMS["team-b"], "omega"})
MAPPING = {"pk": "CONSOLE", "sk": "ACCESS", "admins_group": "admins", "groups": TEAMS}


def _items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for i, name in enumerate(PIPELINES):
        meta = {"pk": f"PIPELINE#{name}", "sk": "META", "name": name, "envs": ["prod", "test"]}
        items.append({**meta, **pipeline_feed_keys(name)})
        for env in ("prod", "test"):
            keys = env_feed_keys(name, env)
            items.append({"pk": f"PIPELINE#{name}", "sk": f"ENV#{env}", "env": env, "status": "succeeded", **keys})
        for n in range(9):
            started = f"2024-06-{1 + n:02d}T{i:02d}:00:00Z"
            run_id = f"{name}-{n}"
            items.append(
                {
                    "pk": f"PIPELINE#{name}",
                    "sk": f"RUN#{started}#{run_id}",
                    "run_id": run_id,
                    "started_at": started,
                    "stacks": {},
                    **run_feed_keys(started, run_id),
                }
            )
    return items


@pytest.fixture(scope="module")
def resolvers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolvers]:
    if NODE is None:
        pytest.skip("node is not installed")
    running = Resolvers(tmp_path_factory.mktemp("resolvers"))
    yield running
    running.close()


@pytest.fixture(scope="module")
def state() -> Iterator[tuple[Any, str]]:
    table = build_console(load_directory(REPO / "pipelines.d").console).to_dict()["Resources"]["StateTable"]
    with seeded_table(table["Properties"], REGION, [*_items(), MAPPING]) as seeded:
        yield seeded


RUNS = "query($pipeline: String, $limit: Int, $nextToken: String) { recentRuns(pipeline: $pipeline, limit: $limit, nextToken: $nextToken) { items { runId pipeline startedAt } nextToken } }"
PIPELINES_PAGE = "query($limit: Int, $nextToken: String) { pipelinesPage(limit: $limit, nextToken: $nextToken) { items { name environments { pipeline env } } nextToken } }"


def pages(
    resolvers: Resolvers, state: Any, field: str, args: dict[str, Any], groups: list[str]
) -> list[dict[str, Any]]:
    """Every page, from both paths (which must agree), following the tokens to the end."""
    document = RUNS if field == "recentRuns" else PIPELINES_PAGE
    found: list[dict[str, Any]] = []
    token = None
    for _ in range(200):
        asked = {**args, "nextToken": token}
        local = answer(document, asked, Identity("someone", tuple(groups)), *state)["data"][field]
        js = ask(resolvers, state, field, asked, groups)
        assert [r.get("runId", r.get("name")) for r in js["items"]] == [
            r.get("runId", r.get("name")) for r in local["items"]
        ]
        assert js["nextToken"] == local["nextToken"]
        found.append(local)
        token = local["nextToken"]
        if token is None:
            return found
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("size", [1, 4, 7])
def test_a_team_pages_through_its_own_runs_only(resolvers: Resolvers, state: Any, size: int) -> None:
    team = TEAMS["team-a"]
    seen = [run for page in pages(resolvers, state, "recentRuns", {"limit": size}, ["team-a"]) for run in page["items"]]
    assert {run["pipeline"] for run in seen} == set(team)
    assert len(seen) == 9 * len(team)  # every run of the team, once
    assert [r["startedAt"] for r in seen] == sorted((r["startedAt"] for r in seen), reverse=True)


def test_a_team_asking_for_another_teams_pipeline_gets_nothing(resolvers: Resolvers, state: Any) -> None:
    [page] = pages(resolvers, state, "recentRuns", {"pipeline": "beta", "limit": 3}, ["team-a"])
    assert page == {"items": [], "nextToken": None}
    mine = pages(resolvers, state, "recentRuns", {"pipeline": "gamma", "limit": 4}, ["team-a"])
    assert [len(p["items"]) for p in mine] == [4, 4, 1]


def test_admins_page_through_every_run_newest_first(resolvers: Resolvers, state: Any) -> None:
    found = pages(resolvers, state, "recentRuns", {"limit": 10}, ["admins"])
    seen = [run for page in found for run in page["items"]]
    assert len(seen) == 9 * len(PIPELINES) and all(len(p["items"]) == 10 for p in found[:-1])
    assert [r["startedAt"] for r in seen] == sorted((r["startedAt"] for r in seen), reverse=True)


def test_strangers_see_no_runs_and_no_pipelines(resolvers: Resolvers, state: Any) -> None:
    assert pages(resolvers, state, "recentRuns", {}, ["nobody"]) == [{"items": [], "nextToken": None}]
    assert pages(resolvers, state, "pipelinesPage", {}, ["nobody"]) == [{"items": [], "nextToken": None}]


@pytest.mark.parametrize("size", [1, 2, 50])
def test_pipeline_pages_carry_their_environments_and_only_visible_names(
    resolvers: Resolvers, state: Any, size: int
) -> None:
    found = pages(resolvers, state, "pipelinesPage", {"limit": size}, ["team-b", "team-a"])
    names = [p["name"] for page in found for p in page["items"]]
    assert names == sorted([*TEAMS["team-a"], *TEAMS["team-b"]])
    assert {page["nextToken"] for page in found} <= {*names, None}
    for page in found:
        for p in page["items"]:
            assert [(e["pipeline"], e["env"]) for e in p["environments"]] == [(p["name"], "prod"), (p["name"], "test")]
    everything = pages(resolvers, state, "pipelinesPage", {"limit": size}, ["admins"])
    assert [p["name"] for page in everything for p in page["items"]] == PIPELINES


def test_a_page_whose_environments_overflow_one_read_ends_before_the_cut(
    tmp_path: Path, state: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for three environments per read, a page of pipelines of two environments each shrinks to
    the pipelines whose environments all came, and the next page starts after them: nothing is lost."""
    if NODE is None:
        pytest.skip("node is not installed")
    monkeypatch.setitem(LIMITS, "page_environments", 3)
    small = Resolvers(tmp_path)
    try:
        found = pages(small, state, "pipelinesPage", {"limit": 5}, ["admins"])
    finally:
        small.close()
    assert [len(page["items"]) for page in found] == [1] * len(PIPELINES)
    assert all(len(p["environments"]) == 2 for page in found for p in page["items"])
