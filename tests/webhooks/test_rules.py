"""The rules of delivery that need no receiver: which addresses may be reached (resolved once,
connected to as resolved), the retry schedule with its jitter, and `Retry-After`."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from datetime import UTC, datetime, timedelta

import pytest

from arenas.webhooks import retries, safety


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.0.0.8", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # link-local: cloud metadata
        ("224.0.0.251", False),  # multicast
        ("0.0.0.0", False),
        ("100.64.0.1", False),  # shared address space
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
    ],
)
def test_only_public_unicast_addresses_may_be_reached(address, allowed):
    assert safety.public(ipaddress.ip_address(address)) is allowed


def resolving_to(monkeypatch, *addresses: str) -> list[str]:
    """Make every resolution answer `addresses`; the hosts asked for."""
    asked: list[str] = []

    async def getaddrinfo(self, host, port, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    safety._resolved.clear()
    return asked


def test_a_name_that_resolves_to_a_private_address_is_refused(monkeypatch, settings):
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = False
    resolving_to(monkeypatch, "93.184.215.14", "10.0.0.5")
    with pytest.raises(safety.Refused, match="10.0.0.5"):
        asyncio.run(safety.resolve("https://hooks.example.com/in"))


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, settings):
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = False
    asked = resolving_to(monkeypatch, "93.184.215.14")
    target = asyncio.run(safety.resolve("https://hooks.example.com:8443/in?x=1"))
    assert target.url == "https://93.184.215.14:8443/in?x=1"
    assert target.host == "hooks.example.com:8443"  # the Host header
    assert target.hostname == "hooks.example.com"  # TLS is verified for the name
    # A rebinding name answers differently the next time: the checked answer is what is used.
    resolving_to(monkeypatch, "127.0.0.1")
    safety._resolved[("hooks.example.com", 8443)] = (
        float("inf"),
        [ipaddress.ip_address("93.184.215.14")],
    )
    assert asyncio.run(safety.resolve("https://hooks.example.com:8443/in?x=1")).address == (
        "93.184.215.14"
    )
    assert asked == ["hooks.example.com"]


def test_allowing_private_addresses_lifts_the_address_rule(monkeypatch, settings):
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = True
    resolving_to(monkeypatch, "10.0.0.5")
    assert asyncio.run(safety.resolve("https://hooks.internal/in")).address == "10.0.0.5"


def test_http_is_refused_at_delivery_when_it_is_not_allowed(settings):
    settings.ALEPH_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(safety.Refused, match="https"):
        asyncio.run(safety.resolve("http://93.184.215.14/in"))


def test_ipv6_targets_are_bracketed(monkeypatch, settings):
    settings.ALEPH_WEBHOOK_ALLOW_PRIVATE = False
    resolving_to(monkeypatch)  # a literal address is not resolved
    target = asyncio.run(safety.resolve("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/in"))
    assert target.url == "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443/in"


def test_the_schedule_is_the_documented_one_with_jitter():
    assert [d.total_seconds() for d in retries.SCHEDULE] == [
        5,
        300,
        1800,
        7200,
        18000,
        36000,
        36000,
    ]
    for failures, base in enumerate(retries.SCHEDULE, start=1):
        delays = {retries.delay(failures) for _ in range(50)}
        assert len(delays) > 1  # jitter
        for delay in delays:
            assert base * (1 - retries.JITTER) <= delay <= base * (1 + retries.JITTER)
    assert not retries.exhausted(len(retries.SCHEDULE))
    assert retries.exhausted(len(retries.SCHEDULE) + 1)


def test_a_retry_after_of_other_digits_is_not_understood():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retries.parse_retry_after("²", now) is None
    assert retries.parse_retry_after("١٢", now) is None


def test_retry_after_sets_the_delay_within_bounds():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retries.parse_retry_after("120", now) == timedelta(seconds=120)
    assert retries.parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == timedelta(minutes=1)
    assert retries.parse_retry_after("soon", now) is None
    assert retries.parse_retry_after(None, now) is None
    assert retries.delay(1, timedelta(seconds=120)) == timedelta(seconds=120)
    assert retries.delay(1, timedelta(0)) == retries.RETRY_AFTER_MIN
    assert retries.delay(1, timedelta(days=30)) == max(retries.SCHEDULE)
