"""The names and limits the console stack fixes: the controller, the recorder and the resolvers follow them."""

from __future__ import annotations

from generator import contract
from generator.stacks.common import CONSOLE_STACK

STACK = CONSOLE_STACK
TABLE_NAME = "pipectl-console-state"
API_NAME = "pipectl-console"
RECORDER_NAME = "pipectl-console-recorder"
DASHBOARD_NAME = "pipectl-console"
SIGN_IN_DOMAIN = "pipectl-console-${AWS::AccountId}"  # the Cognito pool's domain prefix: unique per account
SITE_BUCKET = contract.CONSOLE_SITE_BUCKET
RECORDER_SOURCE = "recorder"  # generator/stacks/functions/recorder.py
RECORDER_CONCURRENCY = 2  # small: new accounts must keep 10 unreserved executions
RATE_LIMIT_PER_5_MIN = 1000

# Key prefixes of the table layout (the package's docstring), injected into the resolvers when they are rendered.
KEYS = {
    "pipeline_prefix": contract.PIPELINE_PK_PREFIX,
    "meta": contract.META_SK,
    "stack_prefix": contract.STACK_SK_PREFIX,
    "run_prefix": contract.RUN_PREFIX,
    "separator": contract.KEY_SEPARATOR,
    "by_sort_key_index": contract.BY_SORT_KEY_INDEX,
    "env_prefix": contract.ENV_SK_PREFIX,
    "console_pk": contract.CONSOLE_PK,
    "access_sk": contract.ACCESS_SK,
    "delivery_pk": contract.DELIVERY_PK,
    "approval_prefix": contract.APPROVAL_SK_PREFIX,
    "control_pipeline": contract.CONTROL_PIPELINE,
    "feed_index": contract.FEED_INDEX,
    "pipeline_feed": contract.PIPELINE_FEED,
    "env_feed": contract.ENV_FEED,
    "run_feed": contract.RUN_FEED,
}
RESULTS = {"changed": contract.RUN_CHANGED_RESULTS, "failed": contract.RUN_FAILED_RESULTS}
LIMITS = contract.CONSOLE_LIMITS
# Query field -> logical id of its resolver, a pipeline of the access function and the field's own function;
# the functions' code is templates/appsync/resolvers/<name>.js.j2.
QUERIES = {
    "pipelines": "PipelinesResolver",
    "pipeline": "PipelineResolver",
    "runs": "RunsResolver",
    "run": "RunResolver",
    "stacks": "StacksResolver",
    "approvals": "ApprovalsResolver",
    "pipelinesPage": "PipelinesPageResolver",
    "recentRuns": "RecentRunsResolver",
}
# Query field -> the functions that follow its own in its pipeline (name -> logical id): a page of
# pipelines reads the environments of the whole page in one more request.
FOLLOWING = {"pipelinesPage": {"pageEnvironments": "PageEnvironmentsFunction"}}
ACCESS_FUNCTION = "access"
ACCESS_METADATA = contract.CONSOLE_ACCESS_METADATA
# (type, field) -> logical id of a unit resolver below a query (its code: resolvers/<field>.js.j2).
FIELDS = {("Pipeline", "environments"): "PipelineEnvironmentsResolver"}
