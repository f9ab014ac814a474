"""What synth makes of one stack: its manifest entry, its template's JSON text and the assets it uses.

Below both `generator.stacks.synth` (which builds them) and `generator.stacks.writing` (which writes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from generator.manifest_model import BootstrapEntry, StackEntry
from generator.stacks.asset_data import Asset

EntryT = TypeVar("EntryT", StackEntry, BootstrapEntry)


@dataclass(frozen=True)
class Built(Generic[EntryT]):
    """One synthesized stack: its manifest entry, the JSON text of its template and the assets it uses."""

    entry: EntryT
    text: str
    assets: tuple[Asset, ...] = field(default=())
    entry_json: str = ""
    """The entry's canonical text (`manifest_model.entry_json`), made where the stack was built."""


StackBuild = Built[StackEntry]
BucketBuild = Built[BootstrapEntry]
