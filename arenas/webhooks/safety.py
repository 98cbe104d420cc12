"""Where a webhook may be sent.

A subscription's URL is absolute `https` (or `http` with `ALEPH_WEBHOOK_ALLOW_HTTP=1`) and
carries no credentials. Every delivery resolves the URL's host and refuses it when any of
its addresses is not a public one (loopback, private, link-local, multicast, unspecified,
reserved, shared): a receiver must not be a door into the service's own network. The
connection then goes to the address that was checked (`Target`), never to a second
resolution of the name, so a name that changes its answer between the check and the
connection (DNS rebinding) cannot steer it. `ALEPH_WEBHOOK_ALLOW_PRIVATE=1` lifts the
address rule (a deployment whose receivers live on its own network; the test suite).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

from arenas import inputs, validation
from arenas.errors import Invalid

SCHEMES = ("https", "http")
# A resolution is reused this long (seconds): deliveries to one host do not each wait for
# the resolver. The address reused is the one checked.
RESOLVED_FOR = 10.0


class Refused(Exception):
    """A URL or an address that a delivery may not reach; the sentence says why."""


def allow_http() -> bool:
    return bool(getattr(settings, "ALEPH_WEBHOOK_ALLOW_HTTP", False))


def allow_private() -> bool:
    return bool(getattr(settings, "ALEPH_WEBHOOK_ALLOW_PRIVATE", False))


def url(value: object, field: str = "url") -> str:
    """A subscription's URL as given, or Invalid naming what is wrong with it. A host that
    is an address (or `localhost`) is checked here already; a name is resolved and checked
    at each delivery."""
    value = validation.text(value, field, min_len=1, max_len=inputs.WEBHOOK_URL_MAX)
    try:
        parts = _parts(value)
    except Refused as refused:
        raise Invalid.field(field, str(refused)) from None
    host = parts.hostname or ""
    if not allow_private():
        if host == "localhost" or host.endswith(".localhost"):
            raise Invalid.field(field, "The URL must not name this machine (localhost).")
        address = _address(host)
        if address is not None and not public(address):
            raise Invalid.field(field, f"The URL's address {address} is not a public one.")
    return value


def _parts(value: str) -> SplitResult:
    """The URL's parts, or Refused: absolute http(s), a host, no credentials."""
    if any(c.isspace() or not c.isprintable() for c in value):
        raise Refused("The URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise Refused("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise Refused("The URL must be absolute, starting with https://.")
    if scheme == "http" and not allow_http():
        raise Refused("The URL must use https (this server does not send webhooks over http).")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL must not carry credentials (user:password@).")
    if port == 0:
        raise Refused("The URL's port is not valid.")
    return parts


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether a delivery may connect to `address`: a globally routable unicast address
    (an IPv4 address mapped into IPv6 is judged as itself)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: `url` names the checked address itself; the request
    carries `host` (the URL's host and port) and TLS is verified for `hostname`."""

    url: str
    host: str
    hostname: str
    scheme: str
    address: str
    port: int


async def resolve(value: str) -> Target:
    """The URL's target, resolved now and checked (Refused when it may not be reached)."""
    parts = _parts(value)
    scheme = parts.scheme.lower()
    hostname = parts.hostname or ""
    port = parts.port or (443 if scheme == "https" else 80)
    addresses = await _resolve(hostname, port)
    if not allow_private():
        for address in addresses:
            if not public(address):
                raise Refused(f"{hostname} resolves to {address}, which is not a public address.")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    path = parts.path or "/"
    target_url = f"{scheme}://{literal}:{port}{path}" + (f"?{parts.query}" if parts.query else "")
    return Target(target_url, parts.netloc.rpartition("@")[2], hostname, scheme, str(chosen), port)


_resolved: dict[tuple[str, int], tuple[float, list]] = {}


async def _resolve(hostname: str, port: int) -> list:
    literal = _address(hostname)
    if literal is not None:
        return [literal]
    key = (hostname, port)
    cached = _resolved.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as error:
        raise Refused(f"{hostname} could not be resolved ({error}).") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not addresses:
        raise Refused(f"{hostname} has no address.")
    if len(_resolved) > 1000:
        _resolved.clear()
    _resolved[key] = (now + RESOLVED_FOR, addresses)
    return addresses
