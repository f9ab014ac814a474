"""The embedded local AWS target: moto's server, with pipectl's CloudFormation models.

- `start_embedded()` runs it in a thread of this process (`with start_embedded() as aws: aws.endpoint`).
- `start_background(workdir)` / `background_status` / `stop_background` run it as a detached process
  recorded in `<workdir>/.pipectl/local.json` (`pipectl local start|status|stop`).
- `resolve_endpoint(workdir)` picks the background server, else starts an in-process one to stop.
- `supervisor` starts, checks and stops every detached process of the local target (this server, the
  collectors, the console), and tells them from processes that later got the same pid.
- `local_session(endpoint, region).client("cloudformation")`: clients with fixed dummy credentials.
- `unmaterialisable(template)` names the types the local target cannot create: refuse before deploying.
- The server enforces what CloudFormation enforces and moto alone does not (see `outcomes`, `limits`,
  `changes`, `protection`): template sizes, imports and exports, non-empty buckets, failed resources
  as FAILED events and rolled-back stacks, Replacement in change sets, termination protection and
  stack policies. `check_termination_protection` / `check_stack_policy` give the same answers
  client-side. Every use of moto's internals goes through `compat`.
- When the server itself fails, the caller gets `InternalFailure` naming the exception and the log.
- moto records Step Functions executions but runs none: `state_machine` walks a definition, `tasks`
  carries out its Task states with the deployed functions' code, and `executions` is the server's
  route that records how the execution ended (`pipectl run`, `pipectl smoke`).
"""

from generator.deploy.local.background import (
    background_status,
    resolve_endpoint,
    start_background,
    stop_background,
)
from generator.deploy.local.coverage import coverage, supported_types, unmaterialisable
from generator.deploy.local.guards import (
    StackProtected,
    check_stack_policy,
    check_termination_protection,
)
from generator.deploy.local.server import EmbeddedAws, set_resource_delay, start_embedded
from generator.deploy.local.session import LocalSession, local_env, local_session

__all__ = [
    "EmbeddedAws",
    "LocalSession",
    "StackProtected",
    "background_status",
    "check_stack_policy",
    "check_termination_protection",
    "coverage",
    "local_env",
    "local_session",
    "resolve_endpoint",
    "set_resource_delay",
    "start_background",
    "start_embedded",
    "stop_background",
    "supported_types",
    "unmaterialisable",
]
