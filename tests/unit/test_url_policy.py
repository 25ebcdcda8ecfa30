"""The job URL policy: which URLs a job may make a worker use, as written and at connect time.

The worker's half runs against real sockets: a server on 127.0.0.1 stands in for a service on the
orchestrator's own machine or network, which a job must not reach unless the operator allowed its origin.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from chalicelib.core.outbound import policy_session
from chalicelib.jobs.models import JobOutput, TranscodeJob
from chalicelib.jobs.urls import UrlPolicy, UrlRefused, is_public
from chalicelib.streams.profiles import DEFAULT_PROFILES
from gpu_worker.encoders import libx264
from gpu_worker.errors import SourceTooLarge, UrlNotAllowed
from gpu_worker.jobs import download_source, process_job

REFUSED = [
    ("http://127.0.0.1/x", "url_host_not_allowed"),
    ("http://127.1.2.3:8080/x", "url_host_not_allowed"),
    ("http://[::1]/x", "url_host_not_allowed"),
    ("http://[::ffff:127.0.0.1]/x", "url_host_not_allowed"),  # IPv4-mapped loopback
    ("http://169.254.169.254/latest/meta-data/", "url_host_not_allowed"),  # AWS, GCP, Azure metadata
    ("http://[fd00:ec2::254]/latest/meta-data/", "url_host_not_allowed"),  # AWS metadata over IPv6
    ("http://100.100.100.200/latest/meta-data/", "url_host_not_allowed"),  # Alibaba metadata (shared space)
    ("http://10.1.2.3/x", "url_host_not_allowed"),
    ("http://172.16.0.1/x", "url_host_not_allowed"),
    ("http://192.168.0.1/x", "url_host_not_allowed"),
    ("http://[fe80::1]/x", "url_host_not_allowed"),
    ("http://0.0.0.0/x", "url_host_not_allowed"),
    ("http://224.0.0.1/x", "url_host_not_allowed"),
    ("http://2130706433/x", "url_host_not_allowed"),  # 127.0.0.1 as one number
    ("http://0x7f.1/x", "url_host_not_allowed"),  # and in hex
    ("http://017700000001/x", "url_host_not_allowed"),  # and in octal
    ("http://localhost:9000/x", "url_host_not_allowed"),
    ("http://api.localhost/x", "url_host_not_allowed"),
    ("http://metadata.google.internal/computeMetadata/v1/", "url_host_not_allowed"),
    ("file:///etc/passwd", "url_scheme_not_allowed"),
    ("ftp://example.com/x", "url_scheme_not_allowed"),
    ("gopher://example.com:70/x", "url_scheme_not_allowed"),
    ("//example.com/x", "url_scheme_not_allowed"),
    ("http:///x", "url_malformed"),
    ("http://user:pass@example.com/x", "url_malformed"),
    ("http://example.com:99999/x", "url_malformed"),
]
ALLOWED = [
    "https://lp-dev-media.s3.amazonaws.com/live/s/1.ts?X-Amz-Signature=abc",
    "https://s3.eu-west-1.amazonaws.com/bucket/key",
    "http://93.184.215.14/x",
    "https://[2606:4700::6810:85e5]/x",
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_urls_to_this_machine_private_networks_metadata_or_other_schemes_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        UrlPolicy().check(url)
    assert refused.value.code == reason


@pytest.mark.parametrize("url", ALLOWED)
def test_http_urls_to_public_hosts_pass(url: str) -> None:
    UrlPolicy().check(url)


def test_an_origin_the_operator_allows_passes_exactly_that_origin() -> None:
    policy = UrlPolicy.allowing(["http://127.0.0.1:4566"])
    policy.check("http://127.0.0.1:4566/bucket/key?sig=1")
    for other in ("http://127.0.0.1:4567/x", "https://127.0.0.1:4566/x", "http://127.0.0.2:4566/x"):
        with pytest.raises(UrlRefused):
            policy.check(other)


def test_public_means_global_unicast() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("8.8.8.8"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("100.64.0.1"))


# ------------------------------------------------------------------------------------------------ the worker


class _Handler(BaseHTTPRequestHandler):
    body = b"x" * 1000

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        if self.path != "/no-length":
            self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def local_service() -> Iterator[str]:
    """An HTTP server on loopback: what a job must not reach unless its origin is allowed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _job(source_url: str, upload_base: str) -> TranscodeJob:
    return TranscodeJob(
        job_id="s/1",
        stream_id="s",
        seq=1,
        source_url=source_url,
        source_bytes=1000,
        outputs=[JobOutput(profile=DEFAULT_PROFILES[0], key="r", upload_url=f"{upload_base}/r")],
        result_key="m",
        result_url=f"{upload_base}/m",
        orchestrator="0x" + "00" * 20,
        created_at=1,
    )


def test_the_worker_refuses_to_connect_to_loopback_unless_allowed(local_service: str) -> None:
    with pytest.raises(UrlRefused, match="not a public address"):
        policy_session(UrlPolicy()).get(f"{local_service}/x", timeout=2)
    allowed = policy_session(UrlPolicy.allowing([local_service]))
    assert allowed.get(f"{local_service}/x", timeout=2).content == _Handler.body


def test_a_name_that_resolves_to_a_private_address_at_connect_time_is_refused(local_service: str) -> None:
    # DNS rebinding: the name passed the intake's check (it is a name), and now resolves to loopback.
    port = int(local_service.rsplit(":", 1)[1])
    rebinding = policy_session(UrlPolicy(), resolver=lambda host, p: ["127.0.0.1"])
    with pytest.raises(UrlRefused, match=re.escape("cdn.example.com resolves to 127.0.0.1")):
        rebinding.get(f"http://cdn.example.com:{port}/x", timeout=2)
    mixed = policy_session(UrlPolicy(), resolver=lambda host, p: ["93.184.215.14", "10.0.0.1"])
    with pytest.raises(UrlRefused, match=re.escape("10.0.0.1")):
        mixed.get(f"http://cdn.example.com:{port}/x", timeout=2)


def test_a_job_naming_a_loopback_url_fails_with_its_code_and_nothing_is_fetched(local_service: str) -> None:
    session = policy_session(UrlPolicy())
    result = process_job(_job(f"{local_service}/source", local_service), libx264("ultrafast"), session)
    assert result.status == "failed" and result.error is not None
    assert result.error.code == "url_not_allowed"


def test_redirects_are_not_followed(local_service: str) -> None:
    session = policy_session(UrlPolicy.allowing([local_service]))
    with pytest.raises(Exception) as refused:
        download_source(_job(f"{local_service}/redirect", local_service), session, (2.0, 2.0))
    assert getattr(refused.value, "code", None) == "source_unavailable"  # the 302 itself, not its target


@pytest.mark.parametrize("path", ["/x", "/no-length"])
def test_a_source_over_the_size_limit_is_refused(local_service: str, path: str) -> None:
    session = policy_session(UrlPolicy.allowing([local_service]))
    with pytest.raises(SourceTooLarge):
        download_source(_job(f"{local_service}{path}", local_service), session, (2.0, 2.0), max_bytes=999)
    assert len(download_source(_job(f"{local_service}{path}", local_service), session, (2.0, 2.0), 1000)) == 1000


def test_the_session_ignores_proxies_from_the_environment(local_service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy setting in the environment would let a request leave through a host the policy never saw.
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    session = policy_session(UrlPolicy.allowing([local_service]))
    assert session.get(f"{local_service}/x", timeout=2).status_code == 200
    assert requests.Session().trust_env  # what a plain session would have done


def test_url_not_allowed_is_a_worker_error_code() -> None:
    assert UrlNotAllowed("x").code == "url_not_allowed"
