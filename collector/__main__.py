"""`python -m collector`: read the settings, serve until SIGTERM, exit 2 on a bad setting."""

from __future__ import annotations

import asyncio
import sys

from collector.config import ConfigError, load_settings
from collector.server import serve


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    try:
        import uvloop
    except ImportError:  # uvloop is Linux and macOS only; asyncio's own loop serves the same requests
        return asyncio.run(serve(settings))
    return uvloop.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
