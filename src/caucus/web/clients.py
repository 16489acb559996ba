"""Client addresses: who is really calling, for the sign-in throttles and the audit log.

The address is the peer that connected, unless that peer is a **trusted proxy** (``CAUCUS_TRUSTED_PROXIES``,
``caucus serve --trusted-proxy``): then it is the rightmost address of ``X-Forwarded-For`` that is not
itself a trusted proxy (each proxy appends the address it saw, so everything left of that hop may have been
written by the client and is never believed). Headers from any other peer are ignored. Trusting no proxy is
the default; the nginx of deploy/ runs on the same host, so the deployment files trust loopback.

:class:`caucus.web.middleware.EdgeMiddleware` puts the address into the ASGI scope's ``client`` (so
``request.client`` is the real client everywhere) and, for a trusted proxy, the scheme from
``X-Forwarded-Proto``. Run the app with uvicorn's own proxy-header handling off (``caucus serve`` does; with bare
uvicorn pass ``--no-proxy-headers``), or uvicorn would already have rewritten the peer from the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51000
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, value: str | Iterable[str]) -> TrustedProxies:
        """``127.0.0.1, ::1 10.0.0.0/8`` (commas or spaces); raises ValueError naming a bad entry."""
        items = value.replace(",", " ").split() if isinstance(value, str) else [
            part for item in value for part in item.replace(",", " ").split()]
        networks = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network (like 127.0.0.1 or "
                                 "10.0.0.0/8)") from None
        return cls(tuple(networks))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts_peer(self, peer: str | None) -> bool:
        """Whether the connecting ``peer`` (the ASGI scope's client host) is a trusted proxy."""
        return self.trusts(_address(peer or ""))

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address.version == net.version and address in net
                                           for net in self.networks)

    def client_of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address, from the connecting ``peer`` and its ``X-Forwarded-For`` header."""
        peer_address = _address(peer or "")
        if not self.trusts(peer_address) or not forwarded_for:
            return str(peer_address) if peer_address is not None else (peer or "unknown")
        hops = [hop for hop in forwarded_for.split(",") if hop.strip()]
        nearest = str(peer_address)
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                # written by something we cannot read: believe no further, the last good hop is the client
                return nearest
            if not self.trusts(address):
                return str(address)
            nearest = str(address)
        return nearest  # every hop a trusted proxy: the leftmost is the client
