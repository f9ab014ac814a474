"""Located errors: every user mistake is reported as FILE:LINE:COL: key.path: message."""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True, order=True)
class Location:
    """Where a value was written: 1-based line and column."""

    file: str
    line: int
    col: int


@dataclass(frozen=True, order=True)
class SpecError:
    """One finding in a pipeline file, ready to print."""

    location: Location
    path: str
    message: str

    def __str__(self) -> str:
        loc = self.location
        return f"{loc.file}:{loc.line}:{loc.col}: {self.path}: {self.message}"


class SpecErrors(Exception):
    """Raised with every finding of every file, so one run reports them all."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(e) for e in self.errors))

    def __reduce__(self) -> tuple[type[SpecErrors], tuple[list[SpecError]]]:
        """Rebuilt from its errors, so it survives the trip back from a synth worker process."""
        return (SpecErrors, (self.errors,))


def format_path(path: Path) -> str:
    """('apps', 1, 'id') -> 'apps[1].id'; the root is '(file)'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def shown(value: object, limit: int = 60) -> str:
    """A found value as the user would recognise it, shortened."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
