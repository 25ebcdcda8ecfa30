"""The worker's HTTP client: every connection checked against the job URL policy when it is made.

A job's URLs were checked as written when the orchestrator took the job; here the check is on the address
the host name resolves to at the moment the worker connects, and the worker connects to exactly that
address (TLS still verifies the certificate for the name). So a name that resolves to a public address at
intake and to 169.254.169.254 a second later (DNS rebinding) is refused, and no redirect, proxy or
``.netrc`` from the environment can route around the policy.
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

from chalicelib.jobs.urls import UrlPolicy

#: ``resolve(host, port)`` → the IP addresses to try, in order (``socket.getaddrinfo`` by default).
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, for TCP."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class _Checked:
    """Connection mixin: resolve, check every address against the policy, connect to a checked one.

    ``PolicyAdapter`` makes subclasses with ``url_policy`` and ``resolve`` set (urllib3 keys its pools by
    a fixed set of arguments, so the policy travels on the class, not as one).
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
        for address in addresses:  # all of them: a name with one private address among public ones is refused
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
    """A transport adapter whose connections obey a ``UrlPolicy``."""

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
    """A session for job URLs: every connection checked by ``policy``; no proxies or credentials from the
    environment (``trust_env`` off); redirects are the caller's to refuse."""
    session = requests.Session()
    session.trust_env = False
    adapter = PolicyAdapter(policy, resolver)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
