"""Entry point of the background local AWS: `python -m generator.deploy.local.serve --port N`.

Runs the same server as `start_embedded`, in the foreground of its own process, until SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from werkzeug.serving import make_server

from generator.deploy.local.server import LOOPBACK, make_app, set_resource_delay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.deploy.local.serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--resource-delay", type=float, default=0.0, help="seconds per resource")
    parser.add_argument("--log", type=Path, default=None, help="where failures of the server are written")
    args = parser.parse_args(argv)

    set_resource_delay(args.resource_delay)
    server = make_server(args.host, args.port, make_app(args.log), threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"pipectl local AWS listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
