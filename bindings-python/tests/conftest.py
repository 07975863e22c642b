"""Shared helpers: real servers on loopback skip loudly, and fail under CI=true."""

from __future__ import annotations

import os
import socket

import pytest

CA = "/etc/mailwright-test/tls/ca.pem"


def server_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return os.path.exists(CA)
    except OSError:
        return False


def need_server(host: str, port: int, what: str) -> None:
    if server_up(host, port):
        return
    msg = f"no {what} on {host}:{port} (run `scripts/mail-servers start` as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{msg}; CI must not skip")
    pytest.skip(msg)
