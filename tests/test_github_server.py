"""The GitHub stand-in itself: each quirk from shared/FACTS.md the gist code relies on."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.github_server import TRUNCATE_BYTES, GitHubStandIn

TOKEN = "stand-in-token-1"


@pytest.fixture
def api(github_server: GitHubStandIn) -> Iterator[httpx.Client]:
    github_server.add_token(TOKEN)
    github_server.add_token("no-scope-token", scopes=("repo",))
    headers = {"Authorization": f"token {TOKEN}"}
    with httpx.Client(base_url=github_server.api_url, headers=headers, timeout=10) as client:
        yield client


def _create(api: httpx.Client, files: dict[str, str]) -> dict[str, Any]:
    body = {"public": False, "files": {n: {"content": t} for n, t in files.items()}}
    answer = api.post("/gists", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_every_patch_makes_a_revision_even_a_no_op(api: httpx.Client) -> None:
    gist = _create(api, {"a.md": "one"})
    for _ in range(2):
        assert api.patch(f"/gists/{gist['id']}", json={"files": {}}).status_code == 200
    commits = api.get(f"/gists/{gist['id']}/commits").json()
    assert len(commits) == 3
    assert {"version", "committed_at", "change_status", "user"} <= set(commits[0])


def test_patch_keeps_unnamed_files_deletes_null_and_renames(api: httpx.Client) -> None:
    gist = _create(api, {"a.md": "A", "b.md": "B", "c.md": "C"})
    body = {"files": {"b.md": None, "c.md": {"filename": "d.md"}, "a.md": {"content": "A2"}}}
    after = api.patch(f"/gists/{gist['id']}", json=body).json()
    assert {n: f["content"] for n, f in after["files"].items()} == {"a.md": "A2", "d.md": "C"}
    old = api.get(f"/gists/{gist['id']}/{gist['history'][0]['version']}").json()
    assert old["files"]["b.md"]["content"] == "B"


def test_large_files_are_truncated_with_spill_over_and_raw_url(api: httpx.Client) -> None:
    big = "x" * (TRUNCATE_BYTES + 10)
    gist = _create(api, {"a.md": "small", "b.md": big, "c.md": "after"})
    files = api.get(f"/gists/{gist['id']}").json()["files"]
    assert files["a.md"] == {**files["a.md"], "content": "small", "truncated": False}
    assert files["b.md"]["truncated"] is True
    assert len(files["b.md"]["content"]) == TRUNCATE_BYTES
    assert files["c.md"]["truncated"] is True
    assert files["c.md"]["content"] == ""
    assert httpx.get(files["b.md"]["raw_url"]).text == big
    assert httpx.get(files["c.md"]["raw_url"]).text == "after"


def test_more_than_300_files_cut_the_listing(api: httpx.Client) -> None:
    gist = _create(api, {f"f{i:03}.md": "x" for i in range(305)})
    data = api.get(f"/gists/{gist['id']}").json()
    assert len(data["files"]) == 300
    assert data["truncated"] is True


@pytest.mark.parametrize(
    "files",
    [{"dir/a.md": {"content": "x"}}, {"a.md": {"content": ""}}, {"a.md": {"content": "  "}}, {}],
)
def test_bad_names_and_empty_content_are_422(api: httpx.Client, files: dict[str, Any]) -> None:
    assert api.post("/gists", json={"files": files}).status_code == 422


def test_auth_unknown_token_401_and_missing_scope_404(
    api: httpx.Client, github_server: GitHubStandIn
) -> None:
    url = f"{github_server.api_url}/gists"
    body = {"files": {"a.md": {"content": "x"}}}
    bad = httpx.post(url, json=body, headers={"Authorization": "token nope"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")
    scopeless = httpx.post(url, json=body, headers={"Authorization": "token no-scope-token"})
    assert scopeless.status_code == 404
    gist = _create(api, {"a.md": "x"})
    # a secret gist is readable by anyone with its id, but not writable without the scope
    assert httpx.get(f"{url}/{gist['id']}").status_code == 200
    patch = httpx.patch(
        f"{url}/{gist['id']}", json=body, headers={"Authorization": "token no-scope-token"}
    )
    assert patch.status_code == 404
    assert api.get("/gists/0123abcd").status_code == 404


def test_listing_is_paginated_without_content(api: httpx.Client) -> None:
    for i in range(5):
        _create(api, {f"n{i}.md": "x", "metadata.json": "{}"})
    first = api.get("/gists", params={"per_page": 2})
    assert len(first.json()) == 2
    assert 'rel="next"' in first.headers["link"]
    assert all("content" not in f for g in first.json() for f in g["files"].values())
    seen = []
    url: str | None = "/gists?per_page=2"
    while url:
        answer = api.get(url)
        seen += [g["id"] for g in answer.json()]
        links = httpx.Response(200, headers=answer.headers).links
        url = links.get("next", {}).get("url")
    assert len(set(seen)) == 5


def test_etag_answers_304(api: httpx.Client) -> None:
    gist = _create(api, {"a.md": "x"})
    first = api.get(f"/gists/{gist['id']}")
    again = api.get(f"/gists/{gist['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    api.patch(f"/gists/{gist['id']}", json={"files": {"a.md": {"content": "y"}}})
    changed = api.get(f"/gists/{gist['id']}", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200


def test_faults_rate_limits_and_request_counts(
    api: httpx.Client, github_server: GitHubStandIn
) -> None:
    github_server.fail(503, method="GET")
    assert api.get("/gists").status_code == 503
    github_server.rate_limit("primary", wait=30)
    primary = api.get("/gists")
    assert primary.status_code == 403
    assert primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) > 0
    github_server.rate_limit("secondary", wait=7)
    secondary = api.get("/gists")
    assert (secondary.status_code, secondary.headers["retry-after"]) == (429, "7")
    assert api.get("/gists").status_code == 200
    assert github_server.count("GET", r"^/gists$") == 4
    # `after=True`: the request takes effect, the answer is lost
    github_server.fail(502, method="POST", after=True)
    assert api.post("/gists", json={"files": {"a.md": {"content": "x"}}}).status_code == 502
    assert len(github_server.gists) == 1


def test_runs_standalone_and_prints_its_url() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.github_server", "--port", "0", "--token", "T0KEN"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.get(f"{url}/gists", headers={"Authorization": "token T0KEN"})
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
