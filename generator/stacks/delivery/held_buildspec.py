"""The commands Apply and SmokeTest run, held in the delivery template: a push cannot change them.

`buildspec.yml` serves Validate and Plan, the stages a push may change. Apply (which executes change
sets with deploy rights) and SmokeTest run what bootstrap wrote here instead: they install the pipectl
that bootstrap pinned, into a fresh virtual environment outside the checkout, and never run code from
the source artifact. When the Approve stage was skipped (the Plan build said `not-required`), Apply
first checks that every stack the plan names belongs to the nightly environment, so a pushed buildspec
that claims "not required" for a prod change stops here instead of deploying unreviewed.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.stacks.delivery.spec import APPROVAL_NOT_REQUIRED, NIGHTLY_ENV

VENV = "${TMPDIR:-/tmp}/pipectl-held"
"""Outside the checkout, so nothing in the source artifact can stand in for it."""
PLAN = "build/plan/plan.json"


def _install(requirement: str) -> list[str]:
    """A fresh build container has no such environment; a second stage run in one container reuses it."""
    return [
        f'if [ ! -x "{VENV}/bin/pipectl" ]; then python3 -m venv "{VENV}" && '
        f'"{VENV}/bin/python" -m pip install --no-cache-dir "{requirement}"; fi',
        f'"{VENV}/bin/pipectl" --help > /dev/null',
    ]


def _nightly_only() -> str:
    """Without approval, only the nightly environment's stacks (`pipectl-<pipeline>-<env>-<kind>`)."""
    select = r'[.stacks[] | select(.action | test("^(create|update)(-after)?$")) | .name'
    select += r' | select(test("^pipectl-.+-\($env)-[a-z]+$") | not)] | join(", ")'
    return (
        f'if [ "$PIPECTL_APPROVAL" = {APPROVAL_NOT_REQUIRED} ]; then\n'
        f"  outside=$(jq -r --arg env {NIGHTLY_ENV} '{select}' {PLAN})\n"
        '  if [ -n "$outside" ]; then\n'
        '    echo "approval was skipped, but the plan changes stacks outside the nightly environment: '
        '$outside; nothing applied" >&2\n'
        "    exit 1\n"
        "  fi\n"
        "fi"
    )


def held_buildspec(stage: str, requirement: str) -> str:
    """The buildspec of the Apply or the SmokeTest project, as YAML text."""
    if stage == "Apply":
        build = ["set -e\n" + _nightly_only(), f'"{VENV}/bin/pipectl" apply --plan {PLAN}']
    elif stage == "SmokeTest":
        build = [
            'if [ "$PIPECTL_RUN" = nightly ]; then '
            f'"{VENV}/bin/pipectl" smoke --env "$PIPECTL_NIGHTLY_ENV"; else "{VENV}/bin/pipectl" smoke; fi'
        ]
    else:
        raise ValueError(f"only Apply and SmokeTest run a held buildspec, not {stage}")
    spec: dict[str, Any] = {
        "version": 0.2,
        "env": {"shell": "bash", "variables": {"NO_COLOR": "1"}},
        "phases": {
            "install": {"runtime-versions": {"python": "3.12"}, "commands": _install(requirement)},
            "build": {"commands": build},
        },
    }
    return str(yaml.safe_dump(spec, sort_keys=False, width=1000))
