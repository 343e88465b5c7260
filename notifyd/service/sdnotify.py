"""sd_notify(3) in a few lines: datagrams to $NOTIFY_SOCKET (READY, STATUS, WATCHDOG, STOPPING).

Without systemd (no NOTIFY_SOCKET) every call does nothing, so the daemon runs the same in a
terminal, a container or a test.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*lines: str) -> bool:
    """Send `KEY=value` lines in one datagram; False when there is no socket to send to."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # Never block the event loop on a reader that is behind (a full datagram queue):
            # a lost status line is better than a daemon that stops sending.
            sock.setblocking(False)
            sock.connect(address)
            # Never wait: a listener that reads nothing (its queue holds ten datagrams) must not
            # stall the event loop, and with it SIGTERM; a ping lost that way is retried anyway.
            sock.send("\n".join(lines).encode(), socket.MSG_DONTWAIT)
        return True
    except BlockingIOError:
        log.debug("sd_notify dropped: the listener's queue is full")
        return False
    except OSError as exc:
        log.warning("sd_notify failed", extra={"error": str(exc)})
        return False


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of systemd's WatchdogSec=), or None when off."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000
