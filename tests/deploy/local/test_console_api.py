"""The local console's GraphQL path (`generator.deploy.local.console.answer`) against the AppSync resolvers.

Parity: every query, asked of the APPSYNC_JS resolvers (run with node, as the console stack's tests run
them) and of `answer()`, on the same moto table, gives the same result. Then what only `answer()` does:
AppSync's error shapes for bad documents, bad variables and failing data sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLOutputType

from generator.deploy.local.console import Identity, answer
from generator.deploy.local.console.api import schema
from generator.spec.loader import load_directory
from generator.stacks.console import FIELDS, QUERIES, build_console
from tests.stacks.appsync_node import Resolvers, ask, ask_field, node_resolvers, seeded_table

REPO = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
ANYONE = Identity("someone", ())


@pytest.fixture(scope="module")
def resolvers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolvers]:
    with node_resolvers(tmp_path_factory.mktemp("resolvers")) as running:
        yield running


@pytest.fixture(scope="module")
def state() -> Iterator[tuple[Any, str]]:
    """A moto table made from the shipped console template's own table definition, seeded with every kind of item."""
    template = build_console(load_directory(REPO / "pipelines.d").console).to_dict()
    with seeded_table(template["Resources"]["StateTable"]["Properties"], REGION) as seeded:
        yield seeded


def selection(kind: GraphQLOutputType) -> str:
    """Every field of a result type, nested: the parity test compares whole objects, not a chosen few."""
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    if not isinstance(kind, GraphQLObjectType):
        return ""
    return "{ " + " ".join(f"{name} {selection(field.type)}" for name, field in kind.fields.items()) + " }"


def completed(value: Any, kind: GraphQLOutputType, resolvers: Resolvers, state: Any) -> Any:
    """What AppSync makes of a resolver's value: every selected field present, absent ones null, and the
    fields with resolvers of their own (Pipeline.environments) resolved by them, with the object as source."""
    while isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if value is None:
        return None
    if isinstance(kind, GraphQLList):
        return [completed(v, kind.of_type, resolvers, state) for v in value]
    if isinstance(kind, GraphQLObjectType):
        shaped = {}
        for name, f in kind.fields.items():
            own = (kind.name, name) in FIELDS
            found = ask_field(resolvers, state, name, value) if own else value.get(name)
            shaped[name] = completed(found, f.type, resolvers, state)
        return shaped
    return value


def document(field: str, args: dict[str, Any]) -> str:
    query = schema().query_type
    assert query is not None
    given = f"({', '.join(f'{k}: ${k}' for k in args)})" if args else ""
    declared = f"({', '.join(f'${k}: {query.fields[field].args[k].type}' for k in args)})" if args else ""
    return f"query{declared} {{ {field}{given} {selection(query.fields[field].type)} }}"


CASES = [
    ("pipelines", {}),
    ("run", {"runId": "r1"}),
    ("run", {"runId": "r2"}),
    ("run", {"runId": "nope"}),
    ("approvals", {}),
    ("pipeline", {"name": "shop"}),
    ("pipeline", {"name": "shop-eu"}),
    ("pipeline", {"name": "nope"}),
    ("runs", {"pipeline": "shop"}),
    ("runs", {"pipeline": "shop", "limit": 1}),
    ("runs", {"pipeline": "shop", "limit": 100000}),
    ("runs", {"pipeline": "nope"}),
    ("stacks", {"pipeline": "shop"}),
    ("stacks", {"pipeline": "shop", "env": "prod"}),
    ("stacks", {"pipeline": "shop-eu"}),
    ("pipelinesPage", {}),
    ("pipelinesPage", {"limit": 1}),
    ("pipelinesPage", {"limit": 1, "nextToken": "shop"}),
    ("pipelinesPage", {"limit": 1, "nextToken": "shop-eu"}),
    ("pipelinesPage", {"limit": 100000, "nextToken": "a-gone-pipeline"}),
    ("recentRuns", {}),
    ("recentRuns", {"limit": 2}),
    ("recentRuns", {"pipeline": "shop"}),
    ("recentRuns", {"pipeline": "shop-eu", "limit": 1}),
    ("recentRuns", {"pipeline": "nope"}),
]


def test_the_cases_ask_every_query() -> None:
    assert {field for field, _ in CASES} == set(QUERIES)


MAPPING = {"pk": "CONSOLE", "sk": "ACCESS", "admins_group": "admins", "groups": {"team-shop": ["shop"]}}
# Who asks: (groups mapped in the table?, the caller's groups)
CALLERS = {
    "anyone, nothing mapped": (False, ()),
    "a team": (True, ("team-shop", "other")),
    "an admin": (True, ("admins",)),
    "a stranger": (True, ()),
}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("field", "args"), CASES)
def test_appsync_and_the_local_path_agree(
    resolvers: Resolvers, state: tuple[Any, str], field: str, args: dict[str, Any], caller: str
) -> None:
    mapped, groups = CALLERS[caller]
    client, table_name = state
    if mapped:
        boto3.resource("dynamodb", region_name=REGION).Table(table_name).put_item(Item=MAPPING)
    try:
        query = schema().query_type
        assert query is not None
        raw = ask(resolvers, state, field, args, list(groups))
        expected = completed(raw, query.fields[field].type, resolvers, state)
        got = answer(document(field, args), args, Identity("someone", groups), *state)
    finally:
        client.delete_item(TableName=table_name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "ACCESS"}})
    assert got == {"data": {field: expected}}
    if caller == "an admin" and field not in {"pipeline", "run"} and args.get("pipeline") != "nope":
        assert expected  # the case compares something, not two empty lists
        if isinstance(expected, dict) and args.get("nextToken") != "shop-eu":  # nothing sorts after shop-eu
            assert expected["items"]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("field", "args"), [("recentRuns", {"limit": 1}), ("pipelinesPage", {"limit": 1})])
def test_both_paths_page_alike(
    resolvers: Resolvers, state: tuple[Any, str], field: str, args: dict[str, Any], caller: str
) -> None:
    """Every page, each asked with the token the page before gave, on both paths."""
    mapped, groups = CALLERS[caller]
    client, table_name = state
    if mapped:
        boto3.resource("dynamodb", region_name=REGION).Table(table_name).put_item(Item=MAPPING)
    query = schema().query_type
    assert query is not None
    pages: list[Any] = []
    try:
        token = None
        for _ in range(10):
            asked = {**args, "nextToken": token}
            raw = ask(resolvers, state, field, asked, list(groups))
            expected = completed(raw, query.fields[field].type, resolvers, state)
            got = answer(document(field, asked), asked, Identity("someone", groups), *state)
            assert got == {"data": {field: expected}}
            pages.append(expected)
            token = expected["nextToken"]
            if token is None:
                break
    finally:
        client.delete_item(TableName=table_name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "ACCESS"}})
    assert pages[-1]["nextToken"] is None
    if caller == "an admin":
        assert len(pages) > 1


def test_the_local_path_filters_by_group(state: tuple[Any, str]) -> None:
    """The parity above would pass if both paths ignored groups alike: the JS tests pin what each caller
    sees there, and this pins it here."""
    client, table_name = state
    boto3.resource("dynamodb", region_name=REGION).Table(table_name).put_item(Item=MAPPING)
    try:
        seen = {
            caller: answer("{ pipelines { name } approvals { executionId } }", None, Identity("x", groups), *state)
            for caller, (_, groups) in CALLERS.items()
            if caller != "anyone, nothing mapped"
        }
    finally:
        client.delete_item(TableName=table_name, Key={"pk": {"S": "CONSOLE"}, "sk": {"S": "ACCESS"}})
    assert seen["a team"] == {"data": {"pipelines": [{"name": "shop"}], "approvals": []}}
    assert seen["an admin"] == {
        "data": {"pipelines": [{"name": "shop"}, {"name": "shop-eu"}], "approvals": [{"executionId": "e-1"}]}
    }
    assert seen["a stranger"] == {"data": {"pipelines": [], "approvals": []}}


def test_environments_are_read_only_when_asked_for(state: tuple[Any, str]) -> None:
    got = answer('{ pipeline(name: "shop") { environments { env graph { stack dependsOn } } } }', None, ANYONE, *state)
    assert [e["env"] for e in got["data"]["pipeline"]["environments"]] == ["prod", "test"]
    assert got["data"]["pipeline"]["environments"][0]["graph"][0] == {
        "stack": "pipectl-shop-prod-ingestion",
        "dependsOn": ["pipectl-shop-prod-storage"],
    }


def test_a_document_that_does_not_parse_is_a_malformed_request(state: tuple[Any, str]) -> None:
    got = answer("{ pipelines {", None, ANYONE, *state)
    assert got["data"] is None
    [error] = got["errors"]
    assert error["errorType"] == "MalformedHttpRequestException"
    assert error["message"].startswith("Syntax Error")


def test_a_field_the_schema_lacks_is_a_validation_error(state: tuple[Any, str]) -> None:
    got = answer("{ pipelines { name password } }", None, ANYONE, *state)
    assert got == {
        "data": None,
        "errors": [
            {
                "message": "Cannot query field 'password' on type 'Pipeline'.",
                "errorType": "ValidationError",
                "locations": [{"line": 1, "column": 20}],
            }
        ],
    }


def test_variables_of_the_wrong_type_are_a_validation_error(state: tuple[Any, str]) -> None:
    got = answer("query($n: String!) { pipeline(name: $n) { name } }", {"n": 3}, ANYONE, *state)
    assert got["data"] is None
    assert [e["errorType"] for e in got["errors"]] == ["ValidationError"]


def test_a_failing_data_source_names_its_error_and_path(state: tuple[Any, str]) -> None:
    client, _ = state
    got = answer('{ pipeline(name: "shop") { name } }', None, ANYONE, client, "no-such-table")
    assert got["data"] == {"pipeline": None}
    [error] = got["errors"]
    assert error["errorType"] == "DynamoDB:ResourceNotFoundException"
    assert error["path"] == ["pipeline"]
