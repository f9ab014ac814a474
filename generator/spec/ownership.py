"""What a pipeline file may ask for only when the installation owns it: today, a Route 53 hosted zone.

The execution role may change records only in the zones `_console.yaml` lists under `hosted_zones`, so a
pipeline naming another zone could never deploy: it is refused where the file names it, at load time.
"""

from __future__ import annotations

from generator.spec.models import PipelineSpec
from generator.spec.rules import Finding


def zone_findings(spec: PipelineSpec, owned: tuple[str, ...], console_file: str) -> list[Finding]:
    """A record may go only into a zone the installation owns: the execution role may change no other."""
    domain = spec.ingestion.domain
    if domain.hosted_zone_id is None or domain.hosted_zone_id in owned:
        return []
    listed = ", ".join(owned) if owned else "none"
    return [
        (
            ("ingestion", "domain", "hosted_zone_id"),
            f"expected a hosted zone listed in {console_file} hosted_zones ({listed}), found {domain.hosted_zone_id!r}",
        )
    ]
