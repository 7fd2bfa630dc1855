"""How a failed connection is named, and whether it means the address is dead (worth the archive)."""

import socket
from urllib.error import URLError

from kb.sources.web import describe


def test_unknown_names_and_refused_connections_are_dead_and_timeouts_are_not():
    unknown = describe(URLError(socket.gaierror(-2, "Name or service not known")))
    assert (unknown.reason, unknown.dead) == ("DNS failure", True)
    refused = describe(URLError(ConnectionRefusedError(111, "Connection refused")))
    assert (refused.reason, refused.dead) == ("connection refused", True)
    for slow in (URLError(TimeoutError("timed out")), TimeoutError("timed out")):
        assert (describe(slow).reason, describe(slow).dead) == ("timeout", False)
    reset = describe(ConnectionResetError(104, "Connection reset by peer"))
    assert (reset.reason, reset.dead) == ("connection error", False)
