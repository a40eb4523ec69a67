"""`make run`'s port check, run before any set-up (so with any Python, no Django, no .venv).

`python factcheck/ports.py PORT` exits 0 when runserver could listen on 127.0.0.1:PORT; otherwise it prints
one line naming the first free port after it, and exits 1.
"""

from __future__ import annotations

import socket
import sys


def is_free(port: int) -> bool:
    """True when 127.0.0.1:port can be bound the way runserver binds it (with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: list[str]) -> int:
    port = int(argv[1])
    if is_free(port):
        return 0
    free = next((p for p in range(port + 1, min(port + 101, 65536)) if is_free(p)), None)
    fix = f"make run PORT={free}" if free else "make run PORT=<a free port>"
    print(
        f"factcheck: port {port} is in use on 127.0.0.1; stop what uses it or choose another: {fix}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
