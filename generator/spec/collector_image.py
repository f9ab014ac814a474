"""The collector image the delivery pipeline built, as synth is given it: a digest reference or image.json.

The delivery pipeline's image build pushes collector/ to the collector's ECR repository and writes
`image.json` (`{"image": "REPOSITORY@sha256:DIGEST", ...}`); Plan hands it to synth. A pipeline whose
file names no `ingestion.image` runs that image, by digest. The value is filled into the validated
spec, so every builder (and the synth cache's key) sees it like any other setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from generator.contract import IMAGE_DIGEST_REFERENCE
from generator.spec.errors import Location, SpecError, SpecErrors, shown
from generator.spec.loader import Installation

IMAGE_FILE_KEY = "image"
EXPECTED = "REPOSITORY@sha256:DIGEST (the image the delivery pipeline pushed)"


def read_collector_image(value: str) -> str:
    """`value` as a digest reference, or the reference held by the image.json file it names.

    A mistake is a located error (the option, or the file's line and column), exit 2 like any spec error.
    """
    if value.endswith(".json"):
        return _from_file(Path(value))
    if not re.match(IMAGE_DIGEST_REFERENCE, value):
        raise SpecErrors(
            [SpecError(Location("--collector-image", 1, 1), "(option)", f"expected {EXPECTED}, found {shown(value)}")]
        )
    return value


def _from_file(path: Path) -> str:
    def error(line: int, col: int, key: str, found: str) -> SpecErrors:
        return SpecErrors([SpecError(Location(str(path), line, col), key, f"expected {found}")])

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(1, 1, "(file)", f"the image build's image.json, found {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(exc.lineno, exc.colno, "(file)", f"a JSON object, found invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise error(1, 1, "(file)", f"a JSON object, found {shown(data)}")
    image = data.get(IMAGE_FILE_KEY)
    if not isinstance(image, str) or not re.match(IMAGE_DIGEST_REFERENCE, image):
        line, col = _position(text, IMAGE_FILE_KEY)
        raise error(line, col, IMAGE_FILE_KEY, f"{EXPECTED}, found {shown(image)}")
    return image


def _position(text: str, key: str) -> tuple[int, int]:
    """Where `"key"` is written (1-based), else the file's start."""
    for number, line in enumerate(text.splitlines(), start=1):
        col = line.find(f'"{key}"')
        if col >= 0:
            return number, col + 1
    return 1, 1


def with_collector_image(installation: Installation, image: str | None) -> Installation:
    """Every pipeline that names no image of its own runs `image`; without one, nothing changes."""
    if image is None:
        return installation
    pipelines = tuple(
        p
        if p.spec.ingestion.image is not None
        else replace(
            p,
            spec=p.spec.model_copy(
                update={"ingestion": p.spec.ingestion.model_copy(update={"image": image})},
            ),
        )
        for p in installation.pipelines
    )
    return replace(installation, pipelines=pipelines)
