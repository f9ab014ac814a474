"""The `pipectl-console` control-plane stack: state table, GraphQL API, recorder, dashboard.

One per installation and never tied to a pipeline, so every stateful resource here is retained.

State table layout (the controller and the recorder both follow it; times are ISO-8601 strings):

| item               | pk                 | sk                                   | attributes                        |
| ------------------ | ------------------ | ------------------------------------ | --------------------------------- |
| pipeline           | PIPELINE#<name>    | META                                 | name, owner, region, envs,        |
|                    |                    |                                      | updated_at                        |
| stack status       | PIPELINE#<name>    | STACK#<env>#<stack-name>             | stack, stack_id, kind, env,       |
|                    |                    |                                      | status, reason, revision,         |
|                    |                    |                                      | updated_at                        |
| run                | PIPELINE#<name>    | RUN#<started_at>#<run_id>            | run_id, kind (plan, apply,        |
|                    |                    |                                      | destroy, prune), revision, actor, |
|                    |                    |                                      | started_at, ended_at, result,     |
|                    |                    |                                      | stacks (map stack -> result)      |
|                    |                    |                                      | feed RUN, feed_sk <started>#<id>  |
| run index          | RUN#<run_id>       | META                                 | the run's attributes, pipelines   |
| lock               | LOCK               | deploy                               | owner, run_id, acquired_at,       |
|                    |                    |                                      | expires_at (epoch seconds, TTL)   |
| delivery execution | DELIVERY           | EXEC#<started_at>#<execution-id>     | execution_id, pipeline, state,    |
|                    |                    |                                      | started_at, trigger, updated_at   |
| execution start    | DELIVERY           | EXECID#<execution-id>                | started_at, expires_at (TTL)      |

The control-plane stacks `pipectl-console` and `pipectl-delivery` are recorded as stack items of the
pipeline `_control` in the environment `_control` (kinds `console` and `delivery`); neither name can
clash with a pipeline or an environment of a pipeline file. CodePipeline events carry no start time, so
the recorder keeps one `EXECID#` item per execution holding the time of the first event it saw, and
keys the execution item by it. The index `BySortKey` (partition sk, sort pk) lists all pipelines
(sk = META, pk begins with PIPELINE#) without a scan. The index `ByFeed` (partition feed, sort feed_sk)
lists every pipeline's runs newest first (feed RUN) and the environments of a range of pipelines (feed
ENV, feed_sk `<pipeline>#<env>`, on the PIPELINE#<name> / ENV#<env> items the controller writes).
"""

from __future__ import annotations

from troposphere import Template

from generator.spec.models import ConsoleSpec
from generator.stacks import common
from generator.stacks.console.api import add_api, add_app_client, query_code, resolver_code, sign_in_origin
from generator.stacks.console.boundary import add_boundary
from generator.stacks.console.dashboard import add_dashboard
from generator.stacks.console.firewall import add_firewall
from generator.stacks.console.names import (
    ACCESS_FUNCTION,
    ACCESS_METADATA,
    API_NAME,
    DASHBOARD_NAME,
    FIELDS,
    FOLLOWING,
    KEYS,
    LIMITS,
    QUERIES,
    RECORDER_NAME,
    STACK,
    TABLE_NAME,
)
from generator.stacks.console.recorder import add_recorder, recorded_events
from generator.stacks.console.site import add_site
from generator.stacks.console.state import add_state

__all__ = [
    "ACCESS_FUNCTION",
    "ACCESS_METADATA",
    "API_NAME",
    "DASHBOARD_NAME",
    "FIELDS",
    "FOLLOWING",
    "KEYS",
    "LIMITS",
    "QUERIES",
    "RECORDER_NAME",
    "STACK",
    "TABLE_NAME",
    "build_console",
    "query_code",
    "recorded_events",
    "resolver_code",
]


def build_console(console: ConsoleSpec) -> Template:
    """The control plane: the state, who may read it, what writes it, and how it is doing."""
    template = common.new_template(_description(console))
    # Who sees which pipelines: the controller writes it into the table, where the API reads it per request.
    template.set_metadata({ACCESS_METADATA: console.access.model_dump(mode="json")})
    add_boundary(template)
    plane = add_state(template, console)
    api, user_pool = add_api(plane)
    site = add_site(plane, api, sign_in_origin(console))
    if user_pool is not None:
        add_app_client(template, user_pool, site.url)
    firewall = add_firewall(template, api)
    recorder, dead_letters = add_recorder(plane)
    add_dashboard(template, api, plane.table, recorder, dead_letters, firewall)
    return template


def _description(console: ConsoleSpec) -> str:
    return (
        f"pipectl control plane ({console.auth.type} sign-in): the state table of every pipeline, run and "
        "stack, the console GraphQL API over it, the recorder of stack and delivery events, the dashboard"
    )
