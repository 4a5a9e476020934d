"""Where webhooks may go: public http(s) addresses only, checked when saved and when sent.

A URL is refused when any address its host resolves to is loopback, private, link-local
(cloud metadata included), multicast, reserved, unspecified, CGNAT or otherwise not
globally routable, IPv6 forms of those included (IPv4-mapped, 6to4, NAT64). Numeric
spellings such as `http://2130706433/` or `http://0x7f.1/` resolve like any host, so
they are judged by the address they reach. An admin may allow hosts or networks anyway
(config WEBHOOK_ALLOWED_NETWORKS: CIDRs or exact host names).

At send time the host is resolved again (DNS may have changed since it was saved) and the
request goes to the address checked here, never to a second lookup's answer.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for admins and the log."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for there."""
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, as the URL gave it
    port: int
    path: str  # path and query
    address: str  # the checked IP to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks an admin allows although they are not public."""
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[str] | None) -> AllowList:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries or ():
            entry = entry.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows(self, host: str, address: IPAddress) -> bool:
        if host in self.hosts:
            return True
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        return any(candidate in network for candidate in candidates
                   for network in self.networks if candidate.version == network.version)


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, path) of a webhook URL, or UnsafeUrl."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"Give a URL of 1-{MAX_URL_LENGTH} characters.")
    if any(ord(char) <= 32 or ord(char) == 127 or char == "\\" for char in url):
        raise UnsafeUrl("The URL contains spaces, control characters or backslashes.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("Not a valid URL (check the host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UnsafeUrl("Only http:// and https:// URLs can receive webhooks.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("Credentials in the URL are not allowed; the payload is signed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("The URL has no host.")
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    elif port == 0 or (port < 1024 and port not in _DEFAULT_PORTS.values()):
        raise UnsafeUrl("Use port 80, 443 or a port from 1024 to 65535.")
    try:
        ascii_host = host if ":" in host else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeUrl("The host name is not valid.") from None
    if len(ascii_host) > 253:
        raise UnsafeUrl("The host name is too long.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, ascii_host.lower(), port, path


def check(url: str, allowed: Iterable[str] | None) -> Target:
    """Parse and resolve a webhook URL; UnsafeUrl unless every address it reaches is allowed."""
    scheme, host, port, path = parse(url)
    allow = AllowList.parse(allowed)
    addresses = resolve(host, port)
    for address in addresses:
        reason = blocked_reason(address)
        if reason is not None and not allow.allows(host, address):
            raise UnsafeUrl(f"refused: resolves to {address} ({reason})")
    return Target(scheme, host, port, path, str(addresses[0]))


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (in resolver order), or UnsafeUrl."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeUrl(f"refused: {host} does not resolve") from None
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except ValueError:
            continue
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(f"refused: {host} does not resolve")
    return addresses


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address may not receive webhooks, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return blocked_reason(embedded)
        if address.teredo:
            return "Teredo tunnel"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address in _METADATA:
        return "link-local, cloud metadata"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared address space (CGNAT)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:
        return "not globally routable"
    return None
