"""The Asset record, apart from `assets.py`, so a synth served from its cache reads assets without troposphere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from generator.contract import ASSET_KEY_PREFIX, ASSETS_DIR


@dataclass(frozen=True)
class Asset:
    """One built asset: where it came from and its bytes; its name is the sha256 of those bytes."""

    source: Path
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def path(self) -> str:
        """Where synth writes it, relative to the folder of the manifest that lists it."""
        return f"{ASSETS_DIR}/{self.sha256}.zip"

    @property
    def key(self) -> str:
        """Its object key in the template and asset bucket."""
        return f"{ASSET_KEY_PREFIX}{self.sha256}.zip"
