"""Lambda asynchronous-invocation settings (retries, age, on-failure destination) in moto's Lambda backend."""

from __future__ import annotations

from typing import Any

from generator.deploy.local.compat import backend
from generator.deploy.local.models._base import PipectlModel


def _config(properties: dict[str, Any]) -> dict[str, Any]:
    """The API's request body: CloudFormation and the PutFunctionEventInvokeConfig API share the keys."""
    return {
        key: properties[key]
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        if key in properties
    }


class PipectlEventInvokeConfig(PipectlModel):
    """Ref is `<function>:<qualifier>`; the settings are put on the function, and updated in place."""

    TYPE = "AWS::Lambda::EventInvokeConfig"

    def __init__(self, function_name: str, qualifier: str) -> None:
        self.physical_resource_id = f"{function_name}:{qualifier}"
        self.function_name = function_name
        self.attributes: dict[str, Any] = {}

    @classmethod
    def create(
        cls, resource_name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlEventInvokeConfig:
        function_name = str(properties["FunctionName"])
        # moto validates retries (<= 2), age (<= 6 h) and the destination's ARN, as Lambda does.
        backend("lambda", account_id, region_name).put_function_event_invoke_config(function_name, _config(properties))
        return cls(function_name, str(properties["Qualifier"]))

    def update(
        self, name: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> PipectlEventInvokeConfig | None:
        """In place for the same function and qualifier; another function or qualifier is a new resource."""
        if f"{properties['FunctionName']}:{properties['Qualifier']}" != self.physical_resource_id:
            return None
        lambdas = backend("lambda", account_id, region_name)
        lambdas.delete_function_event_invoke_config(self.function_name)
        lambdas.put_function_event_invoke_config(self.function_name, _config(properties))
        return self

    def delete(self, account_id: str, region_name: str) -> None:
        lambdas = backend("lambda", account_id, region_name)
        names = {fn.function_name for fn in lambdas.list_functions()} | {
            fn.function_arn for fn in lambdas.list_functions()
        }
        if self.function_name in names:  # on stack deletion the function, and its settings, may be gone
            lambdas.delete_function_event_invoke_config(self.function_name)
