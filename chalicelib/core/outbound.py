"""Outbound HTTP to URLs a caller chose: every connection checked against a ``UrlPolicy`` when it is made.

A URL is checked as written when it is taken (``UrlPolicy.check``) and, here, on the addresses its host
resolves to at the moment of connecting; the connection goes to exactly such a checked address (TLS still
verifies the certificate for the name). So a name that resolved to a public address when a webhook was
created and resolves to 169.254.169.254 when an event is posted (DNS rebinding) is refused, and no
redirect, proxy or ``.netrc`` from the environment can route around the policy. The resolver is injectable,
so tests can make a name's answer change.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection

from chalicelib.core.urls import SCHEMES, UrlPolicy, UrlRefused

#: ``resolve(host, port)`` → the IP addresses to try, in order (``socket.getaddrinfo`` by default).
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, for TCP."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_resolved(policy: UrlPolicy, url: str, resolve: Resolver = system_resolver) -> None:
    """Refuse ``url`` unless it passes the policy as written and every address its host resolves to now.

    A host that does not resolve is refused too (``url_unresolvable``): what cannot be checked is not taken.
    """
    parts = policy.check(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port or SCHEMES[scheme]
    if policy.allows(scheme, host, port):
        return
    try:
        addresses = resolve(host, port)
    except OSError as error:
        raise UrlRefused("url_unresolvable", f"{host} does not resolve: {error}") from None
    if not addresses:
        raise UrlRefused("url_unresolvable", f"{host} does not resolve")
    for address in addresses:
        policy.check_address(scheme, host, port, ipaddress.ip_address(address))


class _Checked:
    """Connection mixin: resolve, check every address against the policy, connect to a checked one.

    ``PolicyAdapter`` makes subclasses with ``url_policy`` and ``resolve`` set (urllib3 keys its pools by a
    fixed set of arguments, so the policy travels on the class, not as an argument).
    """

    scheme = "http"
    url_policy: UrlPolicy
    resolve: Resolver
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        host = self.host.strip("[]")
        try:
            addresses = self.resolve(host, self.port)
        except OSError as error:
            raise NewConnectionError(self, f"cannot resolve {host}: {error}") from error  # type: ignore[arg-type]
        # Every one of them: a name with one private address among public ones is refused.
        for address in addresses:
            self.url_policy.check_address(self.scheme, host, self.port, ipaddress.ip_address(address))
        last: OSError | None = None
        for address in addresses:
            try:
                return connection.create_connection(
                    (address, self.port), self.timeout, self.source_address, self.socket_options
                )
            except OSError as error:
                last = error
        raise NewConnectionError(self, f"cannot connect to {host}:{self.port}: {last}")  # type: ignore[arg-type]


class PolicyAdapter(HTTPAdapter):
    """A transport adapter whose connections obey a ``UrlPolicy``; it never retries by itself."""

    def __init__(self, policy: UrlPolicy, resolver: Resolver = system_resolver) -> None:
        bound = {"url_policy": policy, "resolve": staticmethod(resolver)}
        http = type("CheckedHTTPConnection", (_Checked, HTTPConnection), {**bound, "scheme": "http"})
        https = type("CheckedHTTPSConnection", (_Checked, HTTPSConnection), {**bound, "scheme": "https"})
        self._pools: Mapping[str, Any] = {
            "http": type("CheckedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("CheckedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        """The pool manager, making pools of checked connections."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def policy_session(policy: UrlPolicy, resolver: Resolver = system_resolver) -> requests.Session:
    """A session for URLs a caller chose: every connection checked by ``policy``; no proxies or credentials
    from the environment (``trust_env`` off); redirects are the caller's to refuse (``allow_redirects``)."""
    session = requests.Session()
    session.trust_env = False
    adapter = PolicyAdapter(policy, resolver)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
