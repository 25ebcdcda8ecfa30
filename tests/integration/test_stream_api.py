"""The stream API in Livepeer Studio's shape: JSON, camelCase, Bearer API keys."""

from __future__ import annotations

import requests

from tests.integration.conftest import Api


def test_create_get_list_delete(api: Api) -> None:
    created = api.create_stream("my stream")
    assert set(created) >= {"id", "name", "streamKey", "playbackId", "profiles", "createdAt", "isActive"}
    assert [p["name"] for p in created["profiles"]] == ["240p0", "360p0", "480p0", "720p0"]
    assert created["profiles"][0] == {"name": "240p0", "width": 426, "height": 240, "bitrate": 250000, "fps": 0}

    fetched = api.call("GET", f"/stream/{created['id']}")
    assert fetched.status_code == 200 and fetched.json() == created

    listed = api.call("GET", "/stream").json()
    assert isinstance(listed, list) and created["id"] in [s["id"] for s in listed]

    assert api.call("DELETE", f"/stream/{created['id']}").status_code == 204
    gone = api.call("GET", f"/stream/{created['id']}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "stream_not_found")
    assert gone.json()["errors"] == [gone.json()["error"]["message"]]
    assert api.get(f"/hls/{created['playbackId']}/index.m3u8").status_code == 404


def test_requests_without_a_valid_api_key_are_refused(api: Api) -> None:
    none = requests.post(api.url("/stream"), json={"name": "x"}, timeout=10)
    assert (none.status_code, none.json()["error"]["code"]) == (401, "missing_api_key")
    wrong = requests.get(api.url("/stream"), headers={"Authorization": "Bearer not-a-key"}, timeout=10)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_api_key")


def test_invalid_bodies_are_refused_with_the_failing_fields(api: Api) -> None:
    bad = api.call("POST", "/stream", json={"name": "", "profiles": [{"name": "x", "width": 1}]})
    assert bad.status_code == 422
    body = bad.json()["error"]
    assert body["code"] == "invalid_body"
    assert {e["loc"] for e in body["errors"]} >= {"name", "profiles.0.width"}
    not_json = api.call("POST", "/stream", data=b"{nope", headers={"Content-Type": "application/json"})
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "invalid_json")


def test_an_unknown_stream_is_a_404(api: Api) -> None:
    response = api.call("GET", "/stream/00000000-0000-0000-0000-000000000000")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "stream_not_found")


def test_bodiless_requests_with_a_generated_clients_content_type_are_taken(api: Api) -> None:
    # What clients generated from Studio's API description send on GET and DELETE.
    octets = {"Content-Type": "application/octet-stream"}
    created = api.create_stream("octets", userTags={"app": "generated"})
    assert api.call("GET", "/stream", headers=octets).status_code == 200
    fetched = api.call("GET", f"/stream/{created['id']}", headers=octets)
    assert fetched.status_code == 200 and fetched.json()["userTags"] == {"app": "generated"}
    assert api.call("DELETE", f"/stream/{created['id']}", headers=octets).status_code == 204
