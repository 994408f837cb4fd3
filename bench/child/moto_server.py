"""moto's server (`apilogs.demo.server`) in a process of its own, on 127.0.0.1.

    python bench/child/moto_server.py [LIFETIME_S]

Prints its URL on the first line of stdout. It exits by itself when its parent goes away or
after LIFETIME_S seconds (default: no limit), so it is never left behind."""

from __future__ import annotations

import math
import os
import sys
import time

from apilogs.demo.server import start_server


def main(argv: list[str]) -> int:
    parent = os.getppid()
    lifetime = float(argv[0]) if argv else math.inf
    server = start_server(host="127.0.0.1", port=0)
    print(server.url, flush=True)
    deadline = time.monotonic() + lifetime
    while os.getppid() == parent and time.monotonic() < deadline:
        time.sleep(0.5)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
