"""`build/manifest.json`: the one model synth writes and the controller reads.

The manifest is the contract between the generator and the controller, so it is typed once, here, below
both: synth builds these models and serializes them, the controller validates the file against them.
Unknown keys are errors, and a manifest of another version is refused with a hint to synthesize again,
never read half-understood. Serialization is canonical (sorted keys, two-space indent, one trailing
newline), so the same stacks give the same bytes and the synth cache can reuse entries unchanged.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from generator.contract import CONSOLE_STACK, CONTROL_ENV, CONTROL_PIPELINE, StackKind

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION: Final = 2
"""Version 2: typed entries with `account`, `imports` and `exports`; `depends_on` derived from the imports."""
ACCOUNT_PATTERN = r"^[0-9]{12}$"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Stack(_Entry):
    """What every stack entry has: its name, its template, and the hash and tags plan compares."""

    name: str = Field(min_length=1)
    template: str = Field(min_length=1)
    """Relative to the folder holding the manifest."""
    hash: str = Field(min_length=1)
    tags: dict[str, str] = {}


class StackEntry(_Stack):
    """One stack as synth wants it deployed: where, from which template, after which stacks, tagged how."""

    kind: StackKind
    pipeline: str | None
    env: str | None
    account: str | None = Field(pattern=ACCOUNT_PATTERN)
    """The account the stack deploys into; null: the account of the credentials the controller runs with."""
    region: str = Field(min_length=1)
    assets: tuple[str, ...] = ()
    """Files under build/ (`assets/<sha256>.zip`) the template references in the template bucket."""
    imports: dict[str, str] = {}
    """Each `Fn::ImportValue` name the template uses -> the stack that exports it."""
    exports: tuple[str, ...] = ()
    """The export names the template declares."""
    depends_on: tuple[str, ...] = ()
    """The stacks named in `imports`, sorted: what must be deployed before this one, and deleted after it."""
    parameters: dict[str, str] = {}
    stateful: tuple[str, ...] = ()
    retain: bool
    termination_protection: bool = False
    stack_policy: str | None = None

    @property
    def is_console(self) -> bool:
        return self.name == CONSOLE_STACK

    @property
    def owner(self) -> str:
        """The pipeline the state table files this stack under: the control plane has none of its own."""
        return self.pipeline or CONTROL_PIPELINE

    @property
    def state_env(self) -> str:
        """The environment the state table files this stack under."""
        return self.env or CONTROL_ENV


class BootstrapEntry(_Stack):
    """The bootstrap stack (template and asset bucket): one template, deployed in each of `regions`."""

    kind: Literal[StackKind.BOOTSTRAP] = StackKind.BOOTSTRAP
    regions: tuple[str, ...] = Field(min_length=1)

    def stack(self, region: str) -> StackEntry:
        """The stack in one region, in the shape the change-set code takes."""
        return StackEntry(
            name=self.name,
            kind=StackKind.BOOTSTRAP,
            pipeline=None,
            env=None,
            account=None,
            region=region,
            template=self.template,
            tags=dict(self.tags),
            hash=self.hash,
            retain=True,
        )


class ManifestFile(_Entry):
    """The whole file: its version, every stack in deploy order, and the bootstrap section."""

    version: Literal[2] = 2
    stacks: tuple[StackEntry, ...] = ()
    bootstrap: BootstrapEntry | None = None


def entry_data(entry: _Entry) -> dict[str, Any]:
    """An entry as plain JSON data (what the synth cache stores and `pipectl synth --output json` prints)."""
    return entry.model_dump(mode="json")


def manifest_json(manifest: ManifestFile) -> str:
    """The canonical text of a manifest: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(entry_data(manifest), indent=2, sort_keys=True) + "\n"


def entry_json(entry: StackEntry | BootstrapEntry) -> str:
    """An entry's canonical text on its own, for `manifest_from_entries`."""
    return json.dumps(entry_data(entry), indent=2, sort_keys=True)


def manifest_from_entries(stacks: list[str], bootstrap: str | None) -> str:
    """`manifest_json` of a manifest whose entries have these texts (`entry_json`), without encoding them again.

    Synth encodes each entry where it builds it, in a worker process, and keeps the text in the synth
    cache, so writing the manifest is joining texts. The bytes are `manifest_json`'s: JSON strings hold
    no raw newline, so nesting a text one level deeper is indenting each of its lines (a test compares both).
    """
    nested = ",\n".join("    " + text.replace("\n", "\n    ") for text in stacks)
    stacks_text = f"[\n{nested}\n  ]" if stacks else "[]"
    bootstrap_text = bootstrap.replace("\n", "\n  ") if bootstrap is not None else "null"
    body = f'"bootstrap": {bootstrap_text},\n  "stacks": {stacks_text},\n  "version": {MANIFEST_VERSION}'
    return "{\n  " + body + "\n}\n"
