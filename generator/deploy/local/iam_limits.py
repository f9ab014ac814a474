"""IAM's policy size quotas, enforced by the local IAM backend as IAM does (moto reports them, enforces none).

A managed policy holds at most 6,144 characters and a role's inline policies at most 10,240 in all,
whitespace not counted; a role takes at most ten managed policies. Over a quota, the call fails with
IAM's LimitExceeded error, so an oversized execution role fails on the local target as in an account.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from generator.deploy.local import compat

MANAGED_POLICY_CHARS = 6144
ROLE_INLINE_CHARS = 10240
MANAGED_POLICIES_PER_ROLE = 10
_lock = threading.Lock()
_installed: list[bool] = []


def policy_size(document: str) -> int:
    """Characters IAM counts: the document without whitespace."""
    return len(re.sub(r"\s", "", document))


def enforce_policy_sizes() -> None:
    """Wrap moto's IAM backend once per process: create_policy(_version), put_role_policy, attach_role_policy."""
    limit: Any = compat.moto_class("iam", "LimitExceededException")
    backend_class: Any = compat.moto_class("iam", "IAMBackend")

    with _lock:
        if _installed:
            return
        _installed.append(True)
        create_policy, create_version = backend_class.create_policy, backend_class.create_policy_version
        put_role_policy, attach = backend_class.put_role_policy, backend_class.attach_role_policy

        def managed_size(document: str) -> None:
            if policy_size(document) > MANAGED_POLICY_CHARS:
                raise limit(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARS}")

        def sized_create(backend: Any, description: str, path: str, policy_document: str, policy_name: str,
                         tags: Any) -> Any:  # fmt: skip
            managed_size(policy_document)
            return create_policy(backend, description, path, policy_document, policy_name, tags)

        def sized_version(backend: Any, policy_arn: str, policy_document: str, set_as_default: bool) -> Any:
            managed_size(policy_document)
            return create_version(backend, policy_arn, policy_document, set_as_default)

        def sized_inline(backend: Any, role_name: str, policy_name: str, policy_json: str) -> None:
            role = backend.get_role(role_name)
            others = sum(policy_size(str(d)) for name, d in role.policies.items() if name != policy_name)
            if others + policy_size(policy_json) > ROLE_INLINE_CHARS:
                raise limit(f"Maximum policy size of {ROLE_INLINE_CHARS} bytes exceeded for role {role_name}")
            put_role_policy(backend, role_name, policy_name, policy_json)

        def limited_attach(backend: Any, policy_arn: str, role_name: str) -> None:
            role = backend.get_role(role_name)
            if policy_arn not in role.managed_policies and len(role.managed_policies) >= MANAGED_POLICIES_PER_ROLE:
                raise limit(f"Cannot exceed quota for PoliciesPerRole: {MANAGED_POLICIES_PER_ROLE}")
            attach(backend, policy_arn, role_name)

        backend_class.create_policy = sized_create
        backend_class.create_policy_version = sized_version
        backend_class.put_role_policy = sized_inline
        backend_class.attach_role_policy = limited_attach
