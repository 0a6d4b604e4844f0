"""Where the embedded live page may listen without sign-in: loopback, or elsewhere only when asked to.

The embedded server has no sign-in (the deployed app has Entra ID in front, see
docs/deploy.md). On 127.0.0.1 / ::1 / localhost only this machine can reach it;
on any other address everyone on the network reads every store's live sales, so
`pulse demo --host` refuses such an address unless ``--no-sign-in-on-network`` is
given, and then warns.
"""

from __future__ import annotations

import ipaddress
from typing import Final

__all__ = ["OPT_IN_FLAG", "UnsafeBind", "bind_warning", "is_loopback_host"]

OPT_IN_FLAG: Final = "--no-sign-in-on-network"


class UnsafeBind(ValueError):
    """A non-loopback address without the explicit opt-in."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, opted_in: bool) -> str | None:
    """None on loopback; the warning to print when `opted_in`; `UnsafeBind` otherwise."""
    if is_loopback_host(host):
        return None
    if not opted_in:
        raise UnsafeBind(
            f"--host {host}: the embedded live page has no sign-in, so anyone who can reach {host} "
            f"would read every store's figures; serve on 127.0.0.1, or pass {OPT_IN_FLAG} to accept that"
        )
    return (
        f"WARNING: serving the live page on {host} WITHOUT sign-in: anyone who can reach it reads every "
        "store's figures. Use this on a trusted network only; the deployed app signs users in with Entra ID."
    )
