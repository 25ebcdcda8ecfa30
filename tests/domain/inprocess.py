"""Calling a Chalice app in this process the way a client over HTTP would.

``ChaliceAdapter`` is a ``requests`` transport adapter: mounted on a session for a base URL, it hands
each request to the app through chalice's own local gateway (``chalice.test``), so the gateway's
dispatch reaches the orchestrator's real intake route without a socket.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from chalice.app import Chalice
from chalice.test import Client
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class ChaliceAdapter(BaseAdapter):
    """Send requests to a Chalice app in-process."""

    def __init__(self, app: Chalice, client: Client) -> None:
        super().__init__()
        self._app = app
        self._client = client

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        # The app keeps one current request; a call made from inside a handler must not replace the
        # caller's, which is still being handled.
        caller = getattr(self._app, "current_request", None)
        try:
            answer = self._client.http.request(str(request.method), path, headers=dict(request.headers), body=body)
        finally:
            if caller is not None:
                self._app.current_request = caller
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.body
        response.headers = CaseInsensitiveDict({k: str(v) for k, v in answer.headers.items()})
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""
