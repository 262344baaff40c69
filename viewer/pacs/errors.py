"""The one error type of the PACS client, and plain words for network failures.

Every failure the user can meet (server down, association rejected, timeout, refused login,
full disk) reaches the caller as a :class:`PacsError` whose message says what happened and
what to do; nothing below it leaks a bare ``OSError`` or a library's traceback to the UI.
"""

from __future__ import annotations

import errno
import socket


class PacsError(RuntimeError):
    """A PACS operation failed; ``str(exc)`` is the message to show, complete in itself."""


def socket_problem(host: str, port: int, timeout_s: float) -> str:
    """Why a TCP connection to ``host:port`` fails now, in words ("" when it succeeds).

    Used after an association attempt failed without an answer from the peer, to tell a
    server that is down from a wrong host name or a filtered port.

    >>> socket_problem("127.0.0.1", 1, 1.0)
    'nothing is listening on 127.0.0.1:1 (connection refused): is the PACS running, and is the port right?'
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return ""
    except socket.gaierror:
        return f"the host name {host!r} cannot be resolved: check the node's host"
    except TimeoutError:
        return (f"no answer from {host}:{port} within {timeout_s:g} s: the PACS may be down, "
                "or a firewall drops the connection")
    except ConnectionRefusedError:
        return (f"nothing is listening on {host}:{port} (connection refused): is the PACS "
                "running, and is the port right?")
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


def disk_full(exc: OSError) -> bool:
    """True when ``exc`` means the disk (or the user's quota) is full."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
