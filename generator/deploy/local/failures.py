"""How a check of the local target fails one resource operation, the way CloudFormation reports it."""

from __future__ import annotations


class ResourceFailed(Exception):
    """A resource create, update or delete that CloudFormation would fail (access denied, bucket not empty …).

    The local target turns it into a FAILED stack event for `logical_id` carrying `reason`, and a
    failed stack operation, instead of an HTTP 500.
    """

    def __init__(self, logical_id: str, resource_type: str, reason: str) -> None:
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.reason = reason
