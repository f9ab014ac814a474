"""plan.md in the state table: the console shows each run's plan from the run's own item."""

from __future__ import annotations

import gzip

PLAN_MD_BUDGET = 300_000
"""Bytes of gzip-compressed plan.md a run's index item keeps: under DynamoDB's 400 KB item limit with room for
the rest of the run. Compressed in the item rather than in a bucket, so the console API reads it with the
same GetItem and the same table permission as the run, and the local target needs no bucket for it."""


def compressed_plan(markdown: str, budget: int = PLAN_MD_BUDGET) -> tuple[bytes, bool]:
    """plan.md gzip-compressed within `budget` bytes, and whether it had to be cut (a note ends the cut text)."""
    data = gzip.compress(markdown.encode("utf-8"), mtime=0)
    if len(data) <= budget:
        return data, False
    note = "\n\n… plan.md was cut to fit the state table; the whole file is in the run's plan artifact.\n"
    keep = len(markdown)
    while len(data) > budget and keep > 0:
        keep = int(keep * budget / len(data) * 0.95)
        data = gzip.compress((markdown[:keep] + note).encode("utf-8"), mtime=0)
    return data, True
