"""AppSync's DynamoDB data source in Python: the request documents the resolvers build, sent with boto3.

The local resolvers build the very documents the APPSYNC_JS resolvers return from `request(ctx)`, so the
two paths differ only in who sends them; this module is that sender, and it answers what AppSync hands
to `response(ctx)` as `ctx.result`: one item (or None) for GetItem, `{"items": [...], "nextToken": ...}`
for one Query page.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer
from botocore.exceptions import ClientError

_deserialize = TypeDeserializer().deserialize


class DataSourceError(Exception):
    """What AppSync puts in `ctx.error`: the resolvers turn it into a GraphQL error of the same type."""

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


def plain(value: Any) -> Any:
    """DynamoDB's numbers as JSON numbers, binaries as base64 and sets as lists, as AppSync's resolvers see them."""
    if isinstance(value, Binary):
        return base64.b64encode(value.value).decode("ascii")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(_deserialize(v)) for k, v in raw.items()}


def page_token(last_key: dict[str, Any] | None) -> str | None:
    """AppSync's `nextToken` of a Query page: opaque to the caller; here the page's last key, encoded."""
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode() if last_key else None


def start_key(token: str) -> dict[str, Any]:
    """The key a `nextToken` continues after; a token not made by `page_token` is refused as AppSync refuses it."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise DataSourceError("Invalid pagination token given.", "DynamoDB:ValidationException") from exc
    if not isinstance(key, dict):
        raise DataSourceError("Invalid pagination token given.", "DynamoDB:ValidationException")
    return key


def query_arguments(table_name: str, request: dict[str, Any]) -> dict[str, Any]:
    """boto3's Query arguments for a Query request document: index, filter, limit and token included."""
    query: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": request["query"]["expression"],
        "ExpressionAttributeValues": dict(request["query"]["expressionValues"]),
        "ScanIndexForward": request.get("scanIndexForward", True),
    }
    if "limit" in request:
        query["Limit"] = request["limit"]
    if "index" in request:
        query["IndexName"] = request["index"]
    if "filter" in request:
        query["FilterExpression"] = request["filter"]["expression"]
        query["ExpressionAttributeValues"].update(request["filter"]["expressionValues"])
    if request.get("nextToken"):
        query["ExclusiveStartKey"] = start_key(request["nextToken"])
    return query


def send(ddb: Any, table_name: str, request: dict[str, Any]) -> Any:
    """One GetItem or Query request document (the APPSYNC_JS shape), answered like AppSync's `ctx.result`."""
    try:
        if request["operation"] == "GetItem":
            found = ddb.get_item(TableName=table_name, Key=request["key"], ConsistentRead=False).get("Item")
            return _item(found) if found else None
        if request["operation"] == "Query":
            page = ddb.query(**query_arguments(table_name, request))
            items = [_item(raw) for raw in page.get("Items") or []]
            return {"items": items, "nextToken": page_token(page.get("LastEvaluatedKey"))}
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise DataSourceError(str(error.get("Message", exc)), f"DynamoDB:{error.get('Code', 'Error')}") from exc
    raise DataSourceError(f"unsupported operation {request['operation']}", "UnsupportedOperation")
