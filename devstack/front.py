"""The local HTTP front: what API Gateway (REST, Lambda proxy integration) does for the Chalice app.

Chalice's own local mode supplies the parts: ``RouteMatcher`` finds the resource,
``LambdaEventConverter`` builds the base event, ``LambdaContext`` stands in for Lambda's, and
``LocalChalice`` keeps ``current_request`` per thread. This module adds what API Gateway sends and
``chalice local`` does not: chunked bodies read whole (ffmpeg's HLS push has neither
``Content-Length`` nor ``Content-Type``), every body base64-encoded (the deployed API lists ``*/*``
as a binary media type), multi-value headers and query strings, the stage and request id, the 403
for unknown paths, HEAD and OPTIONS, and the payload limits. Requests run on a pool of warm threads.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from chalice.app import Chalice
from chalice.local import LambdaContext, LambdaEventConverter, LocalChalice, MatchResult, RouteMatcher
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import BaseWSGIServer

log = logging.getLogger("devstack.front")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Answer = tuple[int, dict[str, Any], bytes]

#: API Gateway refuses request payloads over 10 MB.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
#: A synchronous Lambda invocation takes at most 6 MB of event (the body after base64, and the rest).
LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024
LAMBDA_MEMORY_MB = 1024
_READ_CHUNK = 64 * 1024
# A refused body is still read (up to this much) so the client sees the 413 rather than a reset.
_DRAIN_LIMIT = 64 * 1024 * 1024
_NO_BODY_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")


def thread_safe(app: Chalice) -> Chalice:
    """Give ``app`` a per-thread ``current_request`` by making its class a ``LocalChalice`` (idempotent).

    Lambda runs one invocation per process; the front and the pump run many in threads of one
    process. ``chalice local`` swaps the class the same way.
    """
    if not isinstance(app, LocalChalice):
        app.__class__ = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {})
    return app


def lambda_context(function_name: str, timeout_s: float, request_id: str | None = None) -> LambdaContext:
    """Return chalice's stand-in for Lambda's context object."""
    context = LambdaContext(function_name, LAMBDA_MEMORY_MB, int(timeout_s * 1000))
    if request_id is not None:
        context.aws_request_id = request_id
    return context


@dataclass
class FrontConfig:
    """How the front behaves: the stage name in events, and the limits."""

    stage: str = "api"
    max_body_bytes: int = GATEWAY_MAX_BODY_BYTES
    max_event_bytes: int = LAMBDA_MAX_EVENT_BYTES
    function_name: str = "api_handler"
    timeout_s: float = 30.0


class _BodyTooLarge(Exception):
    pass


class Front:
    """A WSGI application that invokes a Chalice app the way API Gateway's proxy integration does."""

    def __init__(self, app: Chalice, config: FrontConfig | None = None) -> None:
        self.app = thread_safe(app)
        self.config = config or FrontConfig()
        # No binary types: the converter leaves the body to us, and we encode every one.
        self.converter = LambdaEventConverter(ResourceMatcher(list(app.routes)))

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request (WSGI) and write one access line."""
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace") or "/"
        try:
            status, headers, body = self._handle(environ, method, path, request_id)
        except Exception:  # the front itself must never die on a request
            log.exception("front failed on %s %s", method, path)
            status, headers, body = _json(502, {"message": "Internal server error"})
        headers.setdefault("x-amzn-RequestId", request_id)
        items = [
            (name, str(v))
            for name, value in headers.items()
            if name.lower() not in ("content-length", "transfer-encoding")
            for v in (value if isinstance(value, list) else [value])
        ]
        # Always a Content-Length; a HEAD keeps the length of its GET.
        items.append(("Content-Length", str(len(body))))
        if method == "HEAD" or status in (204, 304):
            body = b""
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}", items)
        client, uri = environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_URI") or path
        ms = (time.perf_counter() - started) * 1000
        log.info('%s "%s %s" %d %d %.1fms %s', client, method, uri, status, len(body), ms, request_id)
        return [body]

    def _handle(self, environ: Environ, method: str, path: str, request_id: str) -> Answer:
        try:
            raw = self._read_body(environ)
        except _BodyTooLarge:
            return _json(413, {"message": "Request Entity Too Large", "code": "payload_too_large"}, Connection="close")
        headers = _multi_value_headers(environ)
        try:
            event = self.converter.create_lambda_event(
                method, _raw_path(environ, path), {k: v[-1] for k, v in headers.items()}
            )
        except ValueError:  # no resource matches: what API Gateway answers
            return _json(403, {"message": "Missing Authentication Token"})
        resource = event["requestContext"]["resourcePath"]
        methods = self.app.routes[resource]
        if method not in methods and "ANY" not in methods:
            if method == "OPTIONS":
                return self._options(methods)
            if method != "HEAD" or "GET" not in methods:
                return _json(403, {"message": "Missing Authentication Token"})
            method = "GET"  # API Gateway answers HEAD with the GET integration
        self._complete(event, environ, method, path, headers, raw, request_id)
        if len(event["body"] or "") + len(json.dumps({**event, "body": None})) > self.config.max_event_bytes:
            return _json(413, {"message": "Request Entity Too Large", "code": "lambda_payload_too_large"})
        context = lambda_context(self.config.function_name, self.config.timeout_s, request_id)
        return _http_response(self.app(event, context))

    def _read_body(self, environ: Environ) -> bytes:
        limit = self.config.max_body_bytes
        stream = environ["wsgi.input"]
        if length_header := environ.get("CONTENT_LENGTH"):
            length = int(length_header)
            if length > limit:
                _drain(stream, length)
                raise _BodyTooLarge
            return bytes(stream.read(length)) if length else b""
        if not environ.get("wsgi.input_terminated"):
            return b""
        # Chunked: read until the end, refusing what grows past the limit.
        chunks: list[bytes] = []
        size = 0
        while chunk := stream.read(_READ_CHUNK):
            size += len(chunk)
            if size > limit:
                _drain(stream, None)
                raise _BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _options(self, methods: Mapping[str, Any]) -> Answer:
        allowed = sorted(set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set()))
        headers: dict[str, Any] = {"Allow": ", ".join(allowed), "Content-Type": "application/json"}
        if cors := next((e.cors for e in methods.values() if getattr(e, "cors", None)), None):
            headers.update(cors.get_access_control_headers())
            headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
        return 200, headers, b"{}"

    def _complete(
        self,
        event: dict[str, Any],
        environ: Environ,
        method: str,
        path: str,
        headers: dict[str, list[str]],
        raw: bytes,
        request_id: str,
    ) -> None:
        """Add to chalice's event what API Gateway sends and ``chalice local`` leaves out."""
        resource = event["requestContext"]["resourcePath"]
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        # chalice keeps the names captured by routes it tried before the matching one.
        params = {k: v for k, v in event["pathParameters"].items() if f"{{{k}}}" in resource}
        event.update(
            resource=resource,
            path=path,
            httpMethod=method,
            multiValueHeaders=headers,
            queryStringParameters={k: v[-1] for k, v in query.items()} or None,
            multiValueQueryStringParameters=query or None,
            pathParameters=params or None,
            stageVariables=None,
            isBase64Encoded=bool(raw) or method not in _NO_BODY_METHODS,
        )
        event["body"] = base64.b64encode(raw).decode("ascii") if event["isBase64Encoded"] else None
        event["requestContext"].update(
            httpMethod=method,
            path=f"/{self.config.stage}{path}",
            stage=self.config.stage,
            requestId=request_id,
            identity={
                "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                "userAgent": headers.get("user-agent", [None])[-1],
            },
        )


class ResourceMatcher(RouteMatcher):
    """chalice's matcher, matching the raw (still percent-encoded) path segment by segment, as API Gateway does.

    chalice's own parses the decoded path as a URL, so a path parameter holding an encoded ``?``, ``#``, ``;``
    or ``/`` is cut there and the request reaches another resource (``GET /stream/%3Fx`` listed the streams).
    Here each segment is decoded only once matched, literal segments are compared decoded, and a parameter
    never matches an empty segment. Resources are tried in chalice's order: literal segments first.
    """

    def match_route(self, url: str) -> MatchResult:
        path = url.split("?", 1)[0]
        if path != "/" and path.endswith("/"):  # API Gateway drops the trailing slash
            path = path[:-1]
        parts = path.split("/")
        for route in self.route_urls:
            patterns = route.split("/")
            if len(patterns) != len(parts):
                continue
            captured: dict[str, str] = {}
            for raw, pattern in zip(parts, patterns, strict=True):
                value = unquote(raw)
                if pattern.startswith("{") and pattern.endswith("}") and value:
                    captured[pattern[1:-1]] = value
                elif value != pattern:
                    break
            else:
                return MatchResult(route, captured, {})
        raise ValueError(f"No matching route found for: {url}")


def _raw_path(environ: Environ, decoded: str) -> str:
    """The request's path as sent (percent-encoding kept), without its query."""
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not target or not str(target).isascii():  # raw UTF-8 in a request line (not valid HTTP): as decoded
        return quote(decoded, safe="/")
    if "://" in target.split("?", 1)[0]:  # absolute-form request target
        target = urlsplit(target).path or "/"
    return str(target).split("?", 1)[0] or "/"


def _multi_value_headers(environ: Environ) -> dict[str, list[str]]:
    """The request's headers as API Gateway lists them (Werkzeug keeps one value per name)."""
    headers: dict[str, list[str]] = {}
    for key, value in environ.items():
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")) and value:
            headers[key.removeprefix("HTTP_").lower().replace("_", "-")] = [value]
    headers.pop("transfer-encoding", None)
    headers.setdefault("x-forwarded-for", [environ.get("REMOTE_ADDR", "127.0.0.1")])
    headers.setdefault("x-forwarded-proto", [environ.get("wsgi.url_scheme", "http")])
    headers.setdefault("x-forwarded-port", [str(environ.get("SERVER_PORT", ""))])
    return headers


def _http_response(response: Mapping[str, Any]) -> Answer:
    """The status, headers and body of a Lambda proxy response."""
    headers: dict[str, Any] = {k: [str(v) for v in vs] for k, vs in (response.get("multiValueHeaders") or {}).items()}
    for name, value in (response.get("headers") or {}).items():
        headers.setdefault(name, str(value))
    raw = response.get("body")
    if raw is None:
        body = b""
    elif response.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
    return int(response.get("statusCode", 200)), headers, body


def _drain(stream: Any, length: int | None) -> None:
    left = _DRAIN_LIMIT if length is None else min(length, _DRAIN_LIMIT)
    while left > 0 and (chunk := stream.read(min(_READ_CHUNK, left))):
        left -= len(chunk)


def _json(status: int, payload: Any, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()


class PooledWSGIServer(BaseWSGIServer):
    """An HTTP server whose requests run on a fixed pool of threads.

    Lambda reuses warm execution environments, so a function's module-level state (clients,
    caches, per-thread resources) lives on from one invocation to the next; a fresh thread per
    request, as ``ThreadingMixIn`` does, would pay a cold start for thread-local state every time.
    """

    multithread = True

    def __init__(self, host: str, port: int, app: Any, workers: int = 16) -> None:
        super().__init__(host, port, app)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="invoke")

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to a pool thread."""
        self._pool.submit(self._process, request, client_address)

    def _process(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        """Close the socket and let the pool go."""
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


class FrontThread:
    """A front served from a background thread (for tests and for the ``serve`` entry point)."""

    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 0, config: FrontConfig | None = None) -> None:
        self.server = PooledWSGIServer(host, port, Front(app, config))
        self._thread = threading.Thread(target=self.server.serve_forever, name="front", daemon=True)

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8000``."""
        return f"http://{self.server.host}:{self.server.port}"

    def start(self) -> FrontThread:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FrontThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
