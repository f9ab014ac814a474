"""The tables inside a resource's section of plan.md: properties, IAM statements, security-group rules.

Every value sits in a code span with the characters that would break a Markdown table escaped, so a
policy with `|` in a condition or a newline in a description cannot bend the table around it.
"""

from __future__ import annotations

from generator.deploy.access import RuleChange, StatementChange
from generator.deploy.properties import MAX_ROWS, PropertyChange


def cell(text: str) -> str:
    """A table cell: code span, pipes escaped, newlines flattened; empty stays empty."""
    if not text:
        return ""
    flat = text.replace("\r", " ").replace("\n", " ").replace("`", "'").replace("|", "\\|")
    return f"`{flat}`"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def property_table(rows: list[PropertyChange]) -> list[str]:
    if not rows:
        return []
    out = ["| property | before | after | replaces |", "| --- | --- | --- | --- |"]
    out += [
        _row([cell(r.path), cell(r.before), cell(r.after), "**yes**" if r.replaces else ""]) for r in rows[:MAX_ROWS]
    ]
    if len(rows) > MAX_ROWS:
        out.append(_row([f"… and {len(rows) - MAX_ROWS} more", "", "", ""]))
    return [*out, ""]


def statement_table(rows: list[StatementChange]) -> list[str]:
    if not rows:
        return []
    out = [
        "| | policy | effect | principal | actions | resources | conditions |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            _row(
                [
                    r.change,
                    r.policy,
                    r.effect,
                    cell(r.principal),
                    cell(r.actions),
                    cell(r.resources),
                    cell(r.conditions),
                ]
            )
        )
    return [*out, ""]


def rule_table(rows: list[RuleChange]) -> list[str]:
    if not rows:
        return []
    out = ["| | direction | protocol | ports | peer |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(_row([r.change, r.direction, cell(r.protocol), cell(r.ports), cell(r.peer)]))
    return [*out, ""]
