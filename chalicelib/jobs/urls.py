"""Which URLs a job may make an orchestrator's worker fetch or write: the server-side request policy.

A job comes from a gateway, which in an open network may be a stranger, and names the URLs the worker
GETs (the source) and PUTs (renditions, the result manifest). Without a policy a job could aim the worker
at its own cloud's metadata service, at the orchestrator's private network or at loopback services. The
policy allows only http(s) to hosts whose every address is public; the operator may allow more origins
(scheme, host and port exactly) by configuration, which is how the local stack reaches its own AWS
endpoint on 127.0.0.1. It is checked twice: when the intake takes the job (the URL as written) and when the
worker connects (the address the name resolves to then: DNS can change between the two).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from chalicelib.jobs.models import TranscodeJob

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


@dataclass(frozen=True)
class UrlPolicy:
    """http(s) to public addresses only, plus the origins the operator allows explicitly."""

    allowed_origins: frozenset[Origin] = frozenset()

    @classmethod
    def allowing(cls, origins: Iterable[str]) -> UrlPolicy:
        """A policy that also allows each of ``origins`` (URLs such as ``http://127.0.0.1:4566``)."""
        return cls(frozenset(Origin.of(o) for o in origins))

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
        if address is not None and not is_public(address):
            raise UrlRefused("url_host_not_allowed", f"{host} is not a public address")
        if address is None and (host.rstrip(".") in FORBIDDEN_NAMES or host.rstrip(".").endswith(".localhost")):
            raise UrlRefused("url_host_not_allowed", f"{host} names this machine or a metadata service")
        return parts

    def allows(self, scheme: str, host: str, port: int) -> bool:
        """Whether the operator allowed this exact origin."""
        return Origin(scheme, host.lower(), port) in self.allowed_origins

    def check_address(self, scheme: str, host: str, port: int, address: Address) -> None:
        """Refuse a connection to ``address`` (what ``host`` resolved to) unless it is public or allowed."""
        if self.allows(scheme, host, port) or is_public(address):
            return
        raise UrlRefused("url_host_not_allowed", f"{host} resolves to {address}, which is not a public address")


def job_urls(job: TranscodeJob) -> list[tuple[str, str]]:
    """Every URL a job makes the worker use, with its field name on the wire."""
    outputs = [(f"outputs[{i}].uploadUrl", o.upload_url) for i, o in enumerate(job.outputs)]
    return [("sourceUrl", job.source_url), *outputs, ("resultUrl", job.result_url)]


def check_job(job: TranscodeJob, policy: UrlPolicy) -> None:
    """Refuse ``job`` unless every URL it names is allowed (as written; the worker checks the addresses)."""
    for field, url in job_urls(job):
        try:
            policy.check(url)
        except UrlRefused as refused:
            raise UrlRefused(refused.code, f"{field}: {refused.message}") from None
