"""A deleted stack stays deleted on the local target.

moto computes a stack's outputs on every DescribeStacks, resolving each `Ref` through the stack's
resource map; for a deleted stack that map creates the resource again (a deleted bucket came back,
or the call failed with BucketAlreadyExists). CloudFormation reports a deleted stack as it was:
the outputs are taken once, just before its resources are deleted.
"""

from __future__ import annotations

import threading
from typing import Any

from generator.deploy.local import compat

_lock = threading.Lock()


def freeze_deleted_stacks() -> None:
    """Patch moto's Stack once per process."""
    stack_class: Any = compat.Stack
    with _lock:
        if getattr(stack_class, "_pipectl_frozen", False):
            return
        original_delete = stack_class.delete
        original_outputs = stack_class.outputs.fget

        def delete(stack: Any) -> None:
            stack._pipectl_outputs = original_outputs(stack)
            original_delete(stack)

        def outputs(stack: Any) -> Any:
            if stack.status == "DELETE_COMPLETE":
                return getattr(stack, "_pipectl_outputs", None)
            return original_outputs(stack)

        stack_class.delete = delete
        stack_class.outputs = property(outputs)
        stack_class._pipectl_frozen = True
