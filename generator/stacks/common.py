"""What every stack builder shares: names, exports, retention, log groups, template rendering.

Cross-stack contract. Each stack exports its outputs as `<stack-name>:<Output>`, so a reader of
the console's Exports page sees which stack owns a value:

| stack      | outputs                                                                            |
| ---------- | ---------------------------------------------------------------------------------- |
| storage    | KeyArn, DataBucketName, DataBucketArn, LogsBucketName, StreamName*, StreamArn*,    |
|            | DeliveryStreamName*, DeliveryStreamArn*                                            |
| ingestion  | CollectorEndpoint, LoadBalancerDnsName, LoadBalancerFullName, TargetGroupFullName, |
|            | ClusterName, ServiceName                                                           |
| processing | StateMachineArn, StateMachineName, EnrichFunctionName, SinkFunctionName*,          |
|            | DeadLetterQueueName                                                                |
| monitoring | DashboardName, AlarmTopicArn                                                       |
| console    | StateTableName, StateTableArn, GraphQLUrl, GraphQLApiId, UserPoolId*               |

(* only when the pipeline or console uses that option; a sink's outputs are its sink module's)
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, ClassVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from troposphere import Export, ImportValue, Join, Output, Ref, Select, Split, StackId, Sub, Template
from troposphere.awslambda import LoggingConfig
from troposphere.logs import LogGroup

from generator.contract import CONSOLE_STACK as CONSOLE_STACK
from generator.contract import PIPELINE_KINDS, StackKind, pipeline_stack_name
from generator.contract import export_name as export_name
from generator.spec.loader import Pipeline
from generator.stacks.sources import TEMPLATES_DIR as TEMPLATES_DIR

KINDS = PIPELINE_KINDS


def stack_name(pipeline: Pipeline, kind: str) -> str:
    """The CloudFormation stack name: part of the user interface, never changes for a pipeline."""
    return pipeline_stack_name(pipeline.name, pipeline.env, StackKind(kind))


def imported(pipeline: Pipeline, kind: str, output: str) -> ImportValue:
    """A value exported by another stack of the same pipeline and environment."""
    return ImportValue(export_name(stack_name(pipeline, kind), output))


def new_template(description: str) -> Template:
    template = Template(Description=description[:1024])
    template.set_version("2010-09-09")
    return template


def describe(pipeline: Pipeline, kind: str, holds: str) -> str:
    """Stack description shown in the console: who, what, and what the pipeline is for."""
    text = f"pipectl {pipeline.name}/{pipeline.env} {kind}: {holds}"
    if pipeline.spec.description:
        text += f" - {pipeline.spec.description}"
    return text


def add_output(template: Template, stack: str, name: str, value: Any, description: str) -> Output:
    """An output exported under `<stack>:<name>`, beside the resource it describes."""
    return template.add_output(
        Output(name, Description=description, Value=value, Export=Export(export_name(stack, name)))
    )


def keep(resource: Any, retain: bool) -> Any:
    """Stateful resources keep their data when the stack goes, unless the file says deletion: delete."""
    policy = "Retain" if retain else "Delete"
    resource.DeletionPolicy = policy
    resource.UpdateReplacePolicy = policy
    return resource


class _LambdaLogging(LoggingConfig):  # type: ignore[misc]  # troposphere is untyped
    """Lambda's LoggingConfig with LogFormat: in troposphere 4.11 the event source mapping's property of
    the same name shadows the function's, which lost LogFormat."""

    props: ClassVar[dict[str, Any]] = {**LoggingConfig.props, "LogFormat": (str, False)}


def json_logging(log_group: Any) -> Any:
    """A function logs JSON into the log group its template created (never /aws/lambda/<name>)."""
    return _LambdaLogging(LogFormat="JSON", LogGroup=Ref(log_group))


def per_stack(name: str) -> Join:
    """`name/<stack uuid>`: readable, stable across updates, and new for every creation of the stack.

    A retained resource with a fixed name outlives its stack; a pipeline pruned and added again would
    then fail on "already exists". Naming retained resources per stack avoids that.
    """
    return Join("", [name, "/", Select(2, Split("/", StackId))])


def log_group(
    template: Template, logical_id: str, name: Any, retention_days: int, key_arn: Any, retain: bool
) -> LogGroup:
    """A KMS-encrypted log group with a retention, created by the template, never by the service."""
    group = LogGroup(logical_id, LogGroupName=name, RetentionInDays=retention_days, KmsKeyId=key_arn)
    return template.add_resource(keep(group, retain))


def arn(service: str, resource: str) -> Sub:
    """An ARN in this stack's partition, region and account: nothing hard-coded."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


@cache
def _jinja() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def compile_templates() -> None:
    """Compile every Jinja2 template now, so that processes forked afterwards share them instead of compiling each."""
    for path in sorted(TEMPLATES_DIR.rglob("*.j2")):
        _jinja().get_template(path.relative_to(TEMPLATES_DIR).as_posix())


def render(name: str, **values: Any) -> str:
    """Render a Jinja2 template from `templates/`."""
    return _jinja().get_template(name).render(**values)


def render_json(name: str, **values: Any) -> Any:
    """Render a JSON template and parse it, so a broken template fails at synth, not at deploy."""
    return json.loads(render(name, **values))
