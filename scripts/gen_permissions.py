"""Write the execution permissions table for the resource types pipectl emits.

`--check` writes nothing and exits 1 when the committed table differs from a fresh one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.policy.permissions import TABLE_FILE, TEMPLATE_FEATURES, build_table, table_text  # noqa: E402
from generator.stacks.emitted import features_of, synthesized, types_of  # noqa: E402

TARGET = REPO / "generator" / "policy" / "data" / TABLE_FILE


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipelines", type=Path, default=REPO / "pipelines.d", help="the shipped examples")
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed table is stale")
    args = parser.parse_args(argv)
    builds = synthesized(args.pipelines)
    document = build_table(types_of(builds), features_of(builds, TEMPLATE_FEATURES))
    text = table_text(document)
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(REPO)} is stale: run scripts/gen-permissions", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    types, actions = document["resource_types"], document["actions"]
    anywhere = sum(1 for resource_types in actions.values() if not resource_types)
    where = TARGET.relative_to(REPO)
    print(f"{where}: {len(types)} resource types, {len(actions)} actions, {anywhere} without a resource type")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
