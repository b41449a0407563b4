"""mTLS between two peers: who speaks what, whether the connection is made, what a handshake costs (pure).

Golden G20.2 and G20.3 (model convention). A caller sends mTLS unless its own mode is
``disable`` (a workload from outside the mesh sends plaintext: mode ``None``); the callee
accepts per its mode. A new connection costs 1 RTT for TCP, then over mTLS 1 RTT (TLS 1.3)
or 2 RTT (TLS 1.2).
"""

from __future__ import annotations

TLS_RTTS = {"1.3": 1, "1.2": 2}
"""Round trips of a full TLS handshake (RFC 8446 §2; TLS 1.2: RFC 5246)."""


def sends_mtls(caller_mode: str | None) -> bool:
    """Whether a caller with this (effective) mode originates mTLS; ``None``: a workload (plaintext)."""
    return caller_mode is not None and caller_mode != "disable"


def connects(caller_mode: str | None, callee_mode: str) -> tuple[bool, bool]:
    """``(mtls, ok)``: whether the connection is mTLS, and whether the callee accepts it (golden G20.2):
    plaintext → strict refused; plaintext → permissive or disable accepted; mTLS → disable fails its
    handshake; mTLS → permissive or strict accepted."""
    mtls = sends_mtls(caller_mode)
    if mtls:
        return True, callee_mode != "disable"
    return False, callee_mode != "strict"


def handshake_rtts(mtls: bool, tls: str) -> int:
    """Round trips of a new connection: TCP's one, plus the TLS handshake's over mTLS."""
    return 1 + (TLS_RTTS[tls] if mtls else 0)
