"""Which URLs a server may fetch or post to on a caller's behalf: the server-side request policy.

Callers in an open network may be strangers: a gateway names the URLs an orchestrator's worker fetches and
writes, an app names the URL its webhooks are posted to. Without a policy such a URL could aim the server at
its own cloud's metadata service, at its private network or at loopback services. The policy allows only
http(s) to hosts whose every address is public; the operator may allow more origins (scheme, host and port
exactly) by configuration, which is how the local stack reaches its own AWS endpoint on 127.0.0.1, and may
allow loopback addresses as a whole (the local stack's webhooks, posted to an app on the developer's own
machine). It is checked twice: when the URL is taken (as written) and when a connection is made (the address
the name resolves to then: DNS can change between the two; ``core.outbound`` makes such connections).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}
# Names that lead to the machine itself or to a cloud metadata service whatever DNS says.
FORBIDDEN_NAMES = ("localhost", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal")


class UrlRefused(Exception):
    """A URL the policy does not allow; ``code`` is stable, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_public(address: Address) -> bool:
    """Whether ``address`` is a public unicast address (not loopback, private, link-local, shared, ...).

    Link-local covers 169.254.169.254, the metadata address of AWS, GCP and Azure; the unique-local range
    covers AWS's IPv6 metadata address (fd00:ec2::254); shared address space (100.64.0.0/10) covers
    Alibaba's. An IPv4 address mapped into IPv6 is judged as the IPv4 address it carries.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address if it is one, including the legacy IPv4 spellings (``2130706433``,
    ``0x7f.1``, ``017700000001``) that resolvers accept; None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


@dataclass(frozen=True)
class Origin:
    """scheme://host:port, the unit an operator allows."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of ``url`` (the default port made explicit)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {url!r}")
        return cls(scheme, parts.hostname.lower(), parts.port or SCHEMES[scheme])


#: Names of this machine that resolve to loopback addresses (allowed with ``allow_loopback``).
LOOPBACK_NAMES = ("localhost",)


def is_loopback_name(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a name under ``.localhost``)."""
    name = host.rstrip(".").lower()
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


@dataclass(frozen=True)
class UrlPolicy:
    """http(s) to public addresses only, plus the origins the operator allows explicitly.

    ``allow_loopback`` also lets in loopback addresses (127.0.0.0/8, ::1, ``localhost``), never private,
    link-local or metadata ones: the local stack sets it so that webhooks reach an app on the developer's
    own machine. Off by default.
    """

    allowed_origins: frozenset[Origin] = frozenset()
    allow_loopback: bool = False

    @classmethod
    def allowing(cls, origins: Iterable[str], *, allow_loopback: bool = False) -> UrlPolicy:
        """A policy that also allows each of ``origins`` (URLs such as ``http://127.0.0.1:4566``)."""
        return cls(frozenset(Origin.of(o) for o in origins), allow_loopback)

    def check(self, url: str) -> SplitResult:
        """Refuse ``url`` unless it may be fetched: the checks that need no DNS. Returns it parsed."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise UrlRefused("url_malformed", f"not a URL: {error}") from None
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise UrlRefused("url_scheme_not_allowed", f"only http and https are allowed, not {scheme or 'none'!r}")
        if not parts.hostname:
            raise UrlRefused("url_malformed", "the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise UrlRefused("url_malformed", "credentials in the URL are not allowed")
        host = parts.hostname.lower()
        if self.allows(scheme, host, port or SCHEMES[scheme]):
            return parts
        address = literal_address(host)
        if address is not None and not self.reachable(address):
            raise UrlRefused("url_host_not_allowed", f"{host} is not a public address")
        if address is None and self.allow_loopback and is_loopback_name(host):
            return parts
        if address is None and (host.rstrip(".") in FORBIDDEN_NAMES or is_loopback_name(host)):
            raise UrlRefused("url_host_not_allowed", f"{host} names this machine or a metadata service")
        return parts

    def allows(self, scheme: str, host: str, port: int) -> bool:
        """Whether the operator allowed this exact origin."""
        return Origin(scheme, host.lower(), port) in self.allowed_origins

    def reachable(self, address: Address) -> bool:
        """Whether a connection to ``address`` is allowed whatever the origin: public, or loopback if allowed."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return is_public(address) or (self.allow_loopback and address.is_loopback)

    def check_address(self, scheme: str, host: str, port: int, address: Address) -> None:
        """Refuse a connection to ``address`` (what ``host`` resolved to) unless it is public or allowed."""
        if self.allows(scheme, host, port) or self.reachable(address):
            return
        raise UrlRefused("url_host_not_allowed", f"{host} resolves to {address}, which is not a public address")
