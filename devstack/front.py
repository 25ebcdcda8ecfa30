"""The local HTTP front: what API Gateway (REST, Lambda proxy integration) does for the Chalice app.

Each HTTP request becomes an API Gateway v1 proxy event and is handed to ``app(event, context)``
exactly as Lambda would; the returned proxy response is written back. Unlike ``chalice local``,
chunked request bodies without ``Content-Length`` or ``Content-Type`` (ffmpeg's HLS push) arrive
intact: the deployed API lists ``video/mp2t``, ``application/octet-stream`` and ``*/*`` as binary
media types, so every body reaches the app base64-encoded, as it does here.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Chalice
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

log = logging.getLogger("devstack.front")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

#: API Gateway's binary media types in the deployed API (see docs/local-stack.md).
GATEWAY_BINARY_MEDIA_TYPES: tuple[str, ...] = ("video/mp2t", "application/octet-stream", "*/*")
#: API Gateway refuses request payloads over 10 MB.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
#: A synchronous Lambda invocation takes at most 6 MB of event (the body after base64, and the rest).
LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024
ACCOUNT_ID = "123456789012"
API_ID = "devstack"
_READ_CHUNK = 64 * 1024
# A refused body is still read (up to this much) so the client sees the 413 rather than a reset.
_DRAIN_LIMIT = 64 * 1024 * 1024


class LambdaContext:
    """The parts of the Lambda context object that handlers use."""

    def __init__(self, function_name: str, timeout_s: float = 30.0, memory_mb: int = 1024) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "devstack"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda would stop this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_THREAD_STATE = threading.local()


class _ThreadLocalRequest:
    """Makes ``app.current_request`` and ``app.lambda_context`` per thread.

    Lambda runs one invocation per process at a time; the front and the pump run many in threads of
    one process, so the per-invocation attributes Chalice keeps on the app object must not be shared.
    """

    @property
    def current_request(self) -> Any:
        return getattr(_THREAD_STATE, "current_request", None)

    @current_request.setter
    def current_request(self, value: Any) -> None:
        _THREAD_STATE.current_request = value

    @property
    def lambda_context(self) -> Any:
        return getattr(_THREAD_STATE, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        _THREAD_STATE.lambda_context = value


def make_thread_safe(app: Chalice) -> Chalice:
    """Give ``app`` per-thread ``current_request``/``lambda_context`` (idempotent)."""
    if not isinstance(app, _ThreadLocalRequest):
        cls = type(f"ThreadLocal{type(app).__name__}", (_ThreadLocalRequest, type(app)), {})
        app.__dict__.pop("current_request", None)
        app.__dict__.pop("lambda_context", None)
        app.__class__ = cls
    return app


@dataclass(frozen=True)
class RouteMatch:
    """The API Gateway resource a path matched and its path parameters."""

    resource: str
    params: dict[str, str]


class Routes:
    """Matches concrete paths against the app's resource paths, literal segments before ``{params}``."""

    def __init__(self, resources: Iterable[str]) -> None:
        def specificity(resource: str) -> tuple[int, ...]:
            return tuple(1 if p.startswith("{") else 0 for p in resource.split("/"))

        self._resources = sorted(resources, key=lambda r: (specificity(r), r))

    def match(self, path: str) -> RouteMatch | None:
        """Return the resource ``path`` falls in, or ``None``."""
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        parts = path.split("/")
        for resource in self._resources:
            rparts = resource.split("/")
            if len(rparts) != len(parts):
                continue
            params: dict[str, str] = {}
            for got, want in zip(parts, rparts, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    if not got:
                        break
                    params[want[1:-1].rstrip("+")] = got
                elif got != want:
                    break
            else:
                return RouteMatch(resource, params)
        return None


def _matches_media_type(content_type: str | None, media_types: Sequence[str]) -> bool:
    if "*/*" in media_types:
        return True
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    major = mime.split("/", 1)[0]
    return any(t.lower() in (mime, f"{major}/*") for t in media_types)


def _canonical_header(wsgi_key: str) -> str:
    name = wsgi_key[5:] if wsgi_key.startswith("HTTP_") else wsgi_key
    return "-".join(p.capitalize() for p in name.lower().split("_"))


@dataclass
class FrontConfig:
    """How the front behaves: the stage name in events, limits, binary media types."""

    stage: str = "api"
    max_body_bytes: int = GATEWAY_MAX_BODY_BYTES
    max_event_bytes: int = LAMBDA_MAX_EVENT_BYTES
    binary_media_types: tuple[str, ...] = GATEWAY_BINARY_MEDIA_TYPES
    function_name: str = "api_handler"
    timeout_s: float = 30.0
    extra_headers: Mapping[str, str] = field(default_factory=dict)


class _BodyTooLarge(Exception):
    pass


class Front:
    """A WSGI application that invokes a Chalice app the way API Gateway's proxy integration does."""

    def __init__(self, app: Chalice, config: FrontConfig | None = None) -> None:
        self.app = make_thread_safe(app)
        self.config = config or FrontConfig()
        self.routes = Routes(app.routes.keys())

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace") or "/"
        try:
            status, headers, body = self._handle(environ, method, path, request_id)
        except Exception:  # the front itself must never die on a request
            log.exception("front failed on %s %s", method, path)
            status, headers, body = (
                502,
                {"Content-Type": "application/json"},
                json.dumps({"message": "Internal server error"}).encode(),
            )
        headers.setdefault("x-amzn-RequestId", request_id)
        items = list(_header_items(headers))
        # Always a Content-Length (keep-alive works); a HEAD keeps the length of its GET.
        items.append(("Content-Length", str(len(body))))
        if method == "HEAD" or status in (204, 304):
            body = b""
        start_response(f"{status} {_reason(status)}", items)
        log.info(
            '%s "%s %s" %d %d %.1fms %s',
            environ.get("REMOTE_ADDR", "-"),
            method,
            _request_uri(environ),
            status,
            len(body),
            (time.perf_counter() - started) * 1000,
            request_id,
        )
        return [body]

    def _handle(self, environ: Environ, method: str, path: str, request_id: str) -> tuple[int, dict[str, Any], bytes]:
        try:
            raw = self._read_body(environ)
        except _BodyTooLarge:
            return _json(413, {"message": "Request Entity Too Large", "code": "payload_too_large"}, Connection="close")
        match = self.routes.match(path)
        if match is None:
            # What API Gateway answers for a path no resource matches.
            return _json(403, {"message": "Missing Authentication Token"})
        methods = self.app.routes[match.resource]
        invoke_method = method
        if method not in methods and "ANY" not in methods:
            if method == "HEAD" and "GET" in methods:
                invoke_method = "GET"
            elif method == "OPTIONS":
                return self._options(match.resource, methods)
            else:
                return _json(403, {"message": "Missing Authentication Token"})
        event = self.event(environ, invoke_method, path, match, raw, request_id)
        body_size = len(event["body"] or "")
        if body_size + len(json.dumps({**event, "body": None})) > self.config.max_event_bytes:
            return _json(413, {"message": "Request Entity Too Large", "code": "lambda_payload_too_large"})
        context = LambdaContext(self.config.function_name, self.config.timeout_s)
        context.aws_request_id = request_id
        response = self.app(event, context)
        return self._http_response(response)

    def _read_body(self, environ: Environ) -> bytes:
        limit = self.config.max_body_bytes
        stream = environ["wsgi.input"]
        length_header = environ.get("CONTENT_LENGTH")
        if length_header:
            length = int(length_header)
            if length > limit:
                _drain(stream, length)
                raise _BodyTooLarge
            return stream.read(length) if length else b""
        if not environ.get("wsgi.input_terminated"):
            return b""
        # Chunked: read until the end, refusing what grows past the limit.
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = stream.read(_READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                _drain(stream, None)
                raise _BodyTooLarge
            chunks.append(chunk)

    def _options(self, resource: str, methods: Mapping[str, Any]) -> tuple[int, dict[str, Any], bytes]:
        allowed = sorted(set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set()))
        headers: dict[str, Any] = {"Allow": ", ".join(allowed), "Content-Type": "application/json"}
        cors = next((e.cors for e in methods.values() if getattr(e, "cors", None)), None)
        if cors:
            headers.update(cors.get_access_control_headers())
            headers["Access-Control-Allow-Methods"] = ", ".join(allowed)
        return 200, headers, b"{}"

    # --- events ------------------------------------------------------------------------------

    def event(
        self, environ: Environ, method: str, path: str, match: RouteMatch, raw: bytes, request_id: str
    ) -> dict[str, Any]:
        """Return the API Gateway REST proxy event of one request."""
        multi_headers: dict[str, list[str]] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if key == "CONTENT_LENGTH" and not value:
                    continue
                multi_headers[_canonical_header(key)] = [value]
        multi_headers.setdefault("X-Forwarded-For", [environ.get("REMOTE_ADDR", "127.0.0.1")])
        multi_headers.setdefault("X-Forwarded-Proto", [environ.get("wsgi.url_scheme", "http")])
        multi_headers.setdefault("X-Forwarded-Port", [str(environ.get("SERVER_PORT", ""))])
        multi_headers.pop("Transfer-Encoding", None)
        headers = {k: v[-1] for k, v in multi_headers.items()}
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        content_type = headers.get("Content-Type")
        binary = _matches_media_type(content_type, self.config.binary_media_types)
        now = datetime.now(UTC)
        body: str | None
        if not raw and method in ("GET", "HEAD", "DELETE", "OPTIONS"):
            body, binary = None, False
        elif binary:
            body = base64.b64encode(raw).decode("ascii")
        else:
            body = raw.decode("utf-8", "replace")
        host = headers.get("Host", f"127.0.0.1:{environ.get('SERVER_PORT', '')}")
        return {
            "resource": match.resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": match.params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "devstack",
                "resourcePath": match.resource,
                "httpMethod": method,
                "extendedRequestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{self.config.stage}{path}",
                "accountId": ACCOUNT_ID,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": self.config.stage,
                "domainPrefix": host.split(".", 1)[0],
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "sourceIp": environ.get("REMOTE_ADDR", "127.0.0.1"),
                    "userAgent": headers.get("User-Agent"),
                    "accountId": None,
                    "caller": None,
                    "user": None,
                    "userArn": None,
                    "apiKey": None,
                    "accessKey": None,
                    "cognitoIdentityId": None,
                },
                "domainName": host,
                "apiId": API_ID,
            },
            "body": body,
            "isBase64Encoded": binary,
        }

    def _http_response(self, response: Mapping[str, Any]) -> tuple[int, dict[str, Any], bytes]:
        status = int(response.get("statusCode", 200))
        headers: dict[str, Any] = {}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = [str(v) for v in values]
        for name, value in (response.get("headers") or {}).items():
            headers.setdefault(name, str(value))
        raw = response.get("body")
        if raw is None:
            body = b""
        elif response.get("isBase64Encoded"):
            body = base64.b64decode(raw)
        elif isinstance(raw, bytes):
            body = raw
        else:
            body = str(raw).encode("utf-8")
        headers.update(self.config.extra_headers)
        return status, headers, body


def _drain(stream: Any, length: int | None) -> None:
    left = _DRAIN_LIMIT if length is None else min(length, _DRAIN_LIMIT)
    while left > 0:
        chunk = stream.read(min(_READ_CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)


def _json(status: int, payload: Any, **headers: str) -> tuple[int, dict[str, Any], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode()


def _header_items(headers: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for name, value in headers.items():
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        for v in value if isinstance(value, list) else [value]:
            yield name, str(v)


def _request_uri(environ: Environ) -> str:
    return str(environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its own access log (the front writes one line per request)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class PooledWSGIServer(BaseWSGIServer):
    """An HTTP server whose requests run on a fixed pool of threads.

    Lambda reuses warm execution environments, so a function's module-level state (clients,
    caches, per-thread resources) lives on from one invocation to the next; a fresh thread per
    request, as ``ThreadingMixIn`` does, would pay a cold start for thread-local state every time.
    """

    multithread = True

    def __init__(self, host: str, port: int, app: Any, workers: int = 16) -> None:
        super().__init__(host, port, app, handler=_QuietHandler)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="invoke")

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._process, request, client_address)

    def _process(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_front_server(
    app: Chalice, host: str = "127.0.0.1", port: int = 8000, config: FrontConfig | None = None
) -> BaseWSGIServer:
    """Return a pooled HTTP server serving ``app`` through a :class:`Front` (call ``serve_forever``)."""
    return PooledWSGIServer(host, port, Front(app, config))


class FrontThread:
    """A front served from a background thread (for tests and for the ``serve`` entry point)."""

    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 0, config: FrontConfig | None = None) -> None:
        self.server = make_front_server(app, host, port, config)
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
