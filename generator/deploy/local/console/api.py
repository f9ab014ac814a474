"""`answer()`: one GraphQL request against the state table, as the console's AppSync API answers it.

The local console server calls it with the signed-in user's identity. The schema is AppSync's own
(`templates/appsync/schema.graphql`), parsed and validated by graphql-core; the resolvers
(`resolvers.py`) mirror the APPSYNC_JS ones, and errors come back in AppSync's shape, with an
`errorType`, so the console shows the same messages locally and on AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema, execute_sync, parse, validate

from generator.deploy.local.console.dynamo import DataSourceError
from generator.deploy.local.console.resolvers import Queries
from generator.stacks.sources import TEMPLATES_DIR

SCHEMA_FILE = TEMPLATES_DIR / "appsync" / "schema.graphql"


@dataclass(frozen=True)
class Identity:
    """Who asks: the token's subject and its groups (`cognito:groups`, or the OIDC groups claim)."""

    subject: str
    groups: tuple[str, ...]


@cache
def schema() -> GraphQLSchema:
    """The API's schema, read once from the file AppSync is given."""
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def answer(
    document: str, variables: Mapping[str, Any] | None, identity: Identity, ddb: Any, table_name: str
) -> dict[str, Any]:
    """A GraphQL response: `{"data": ...}`, with `"errors"` (message, errorType, path) when anything failed."""
    try:
        parsed = parse(document)
    except GraphQLError as exc:
        return {"data": None, "errors": [_error(exc, "MalformedHttpRequestException")]}
    invalid = validate(schema(), parsed)
    if invalid:
        return {"data": None, "errors": [_error(e, "ValidationError") for e in invalid]}
    result = execute_sync(
        schema(),
        parsed,
        root_value=Queries(ddb, table_name, identity.groups),
        variable_values=dict(variables or {}),
    )
    if result.errors:
        return {"data": result.data, "errors": [_error(e, None) for e in result.errors]}
    return {"data": result.data}


def _error(error: GraphQLError, error_type: str | None) -> dict[str, Any]:
    original = error.original_error
    if error_type is None:
        if isinstance(original, DataSourceError):
            error_type = original.error_type
        elif not error.path:
            error_type = "ValidationError"  # variables that do not fit the document
        else:
            error_type = "ExecutionError"
    kind = error_type
    shaped: dict[str, Any] = {"message": error.message, "errorType": kind}
    if error.path:
        shaped["path"] = list(error.path)
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return shaped
