"""`python -m collector.healthcheck`: the image's HEALTHCHECK, with nothing but the standard library.

The slim image carries no curl or wget; this asks the collector's own health endpoint on loopback.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("PORT", "8080")
    path = os.environ.get("HEALTH_PATH", "/health")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as answer:
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"collector health check failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
