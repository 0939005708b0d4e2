"""The loopback GitHub fake, driven by the real PyGithub over HTTP."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.PullRequest import PullRequest, ReviewComment
from github.Repository import Repository
from requests.exceptions import RetryError

from tests.fakes.github_fake import (
    LINE_NOT_IN_DIFF,
    PATH_UNRESOLVED,
    START_NOT_BEFORE,
    START_NOT_IN_HUNK,
    FakeGitHub,
    github_fake,
)

OWNER, NAME, NUMBER = "acme", "widgets", 7
BASE, HEAD, HEAD2 = "a" * 40, "b" * 40, "c" * 40
# Hunk 1: old lines 1-4, new lines 1-5. Hunk 2: old lines 20-22, new lines 21-24.
APP_PATCH = "\n".join(
    [
        "@@ -1,4 +1,5 @@",
        " import os",
        "-x = 1",
        "+x = 2",
        "+y = 3",
        " def f():",
        "     return x",
        "@@ -20,3 +21,4 @@ def g():",
        "     a",
        "+    b",
        "     c",
        "     d",
    ]
)
FILES: list[dict[str, Any]] = [
    {"filename": "src/app.py", "status": "modified", "patch": APP_PATCH},
    {"filename": "docs/new.md", "status": "added", "patch": "@@ -0,0 +1,2 @@\n+# New\n+text"},
    {"filename": "logo.png", "status": "added", "additions": 0, "deletions": 0, "changes": 0},
]


@pytest.fixture
def fake() -> Iterator[tuple[str, FakeGitHub]]:
    """A served fake holding PR acme/widgets#7; its replies must match GitHub's schemas."""
    with github_fake() as (url, state):
        state.open_pr(
            OWNER,
            NAME,
            NUMBER,
            title="Tune x",
            body="Makes x bigger.",
            base_sha=BASE,
            head_sha=HEAD,
            files=FILES,
            labels=["enhancement"],
        )
        yield url, state
        assert state.response_errors == []


def _client(url: str, **options: Any) -> Github:
    """PyGithub against the fake: no throttling, and no retries unless asked for."""
    options.setdefault("retry", None)
    return Github(
        base_url=url,
        auth=Auth.Token("t"),
        seconds_between_requests=None,  # PyGithub otherwise sleeps 0.25 s per call, 1 s per write
        seconds_between_writes=None,
        **options,
    )


@pytest.fixture
def gh(fake: tuple[str, FakeGitHub]) -> Iterator[Github]:
    """A PyGithub client for the fake."""
    with _client(fake[0]) as client:
        yield client


def _pr(gh: Github) -> tuple[Repository, PullRequest]:
    repo = gh.get_repo(f"{OWNER}/{NAME}")
    return repo, repo.get_pull(NUMBER)


def _review(gh: Github, *comments: Mapping[str, Any], **extra: Any) -> Any:
    repo, pr = _pr(gh)
    return pr.create_review(
        commit=repo.get_commit(extra.pop("sha", HEAD)),
        body=extra.pop("body", "Summary."),
        event=extra.pop("event", "COMMENT"),
        comments=[cast(ReviewComment, dict(c)) for c in comments],
    )


def test_pull_request_comes_back_with_the_fakes_own_urls(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    url, _ = fake
    repo, pr = _pr(gh)
    assert (pr.title, pr.body, pr.state, pr.draft) == ("Tune x", "Makes x bigger.", "open", False)
    assert (pr.user.login, pr.user.type, pr.head.sha, pr.base.sha) == ("alice", "User", HEAD, BASE)
    assert [label.name for label in pr.labels] == ["enhancement"]
    assert (pr.head.ref, pr.base.ref, pr.base.repo.full_name) == ("feature", "main", "acme/widgets")
    assert (pr.changed_files, pr.additions, pr.deletions) == (3, 5, 1)
    for link in (pr.url, pr.html_url, pr.issue_url, pr.comments_url, repo.url, pr.user.url):
        assert link.startswith(url + "/")


def test_files_are_paginated_through_link_headers(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    patch = "@@ -0,0 +1 @@\n+x"
    many = [{"filename": f"pkg/m{i:03}.py", "status": "added", "patch": patch} for i in range(150)]
    state.open_pr(OWNER, NAME, 8, title="Big", body=None, base_sha=BASE, head_sha=HEAD, files=many)
    with _client(url, per_page=100) as gh:
        files = list(gh.get_repo(f"{OWNER}/{NAME}").get_pull(8).get_files())
    assert [f.filename for f in files] == [f["filename"] for f in many]
    pages = [r for r in state.requests if r.path.endswith("/pulls/8/files")]
    assert [dict(r.query) for r in pages] == [{"per_page": "100"}, {"per_page": "100", "page": "2"}]


def test_files_stop_at_three_thousand_with_a_thirty_item_default(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    url, state = fake
    many = [{"filename": f"f{i:04}", "status": "added", "additions": 1} for i in range(3005)]
    state.open_pr(OWNER, NAME, 9, title="Huge", body=None, base_sha=BASE, head_sha=HEAD, files=many)
    path = f"{url}/repos/{OWNER}/{NAME}/pulls/9/files"
    headers, first = gh.requester.requestJsonAndCheck("GET", path)
    assert len(first) == 30
    assert f'<{path}?per_page=30&page=100>; rel="last"' in headers["link"]
    _, last = gh.requester.requestJsonAndCheck("GET", path, {"per_page": "100", "page": "30"})
    _, beyond = gh.requester.requestJsonAndCheck("GET", path, {"per_page": "100", "page": "31"})
    assert (last[-1]["filename"], beyond) == ("f2999", [])
    assert gh.get_repo(f"{OWNER}/{NAME}").get_pull(9).changed_files == 3005


def test_contents_at_a_ref(fake: tuple[str, FakeGitHub], gh: Github) -> None:
    _, state = fake
    text = "import os\n" + "x = 2  # a line long enough to wrap the base64 body\n" * 3
    state.set_file(OWNER, NAME, HEAD, "src/app.py", text)
    repo = gh.get_repo(f"{OWNER}/{NAME}")
    found = repo.get_contents("src/app.py", ref=HEAD)
    assert not isinstance(found, list)
    assert (found.decoded_content.decode(), found.encoding, found.path) == (
        text,
        "base64",
        "src/app.py",
    )
    assert all(len(line) <= 60 for line in found.content.splitlines())
    assert base64.b64decode(found.content) == text.encode()
    state.set_file(OWNER, NAME, HEAD, "docs/my notes.md", "spaced out\n")
    spaced = repo.get_contents("docs/my notes.md", ref=HEAD)
    assert not isinstance(spaced, list)
    assert spaced.decoded_content == b"spaced out\n"
    for path, ref in (("src/missing.py", HEAD), ("src/app.py", BASE)):
        with pytest.raises(GithubException) as missing:
            repo.get_contents(path, ref=ref)
        assert missing.value.status == 404


def test_a_review_with_placeable_comments_is_stored(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    review = _review(
        gh,
        {"path": "src/app.py", "line": 3, "side": "RIGHT", "body": "Why 3?"},
        {
            "path": "src/app.py",
            "start_line": 2,
            "start_side": "LEFT",
            "line": 3,
            "side": "RIGHT",
            "body": "This pair changed together.",
        },
    )
    assert (review.state, review.commit_id, review.user.login) == (
        "COMMENTED",
        HEAD,
        state.bot_login,
    )
    _, pr = _pr(gh)
    assert [r.id for r in pr.get_reviews()] == [review.id]
    comments = sorted(pr.get_review_comments(), key=lambda c: c.id)
    assert [(c.path, c.line, c.side, c.start_line, c.start_side) for c in comments] == [
        ("src/app.py", 3, "RIGHT", None, None),
        ("src/app.py", 3, "RIGHT", 2, "LEFT"),
    ]
    assert {c.pull_request_review_id for c in comments} == {review.id}
    assert comments[0].diff_hunk == "@@ -1,4 +1,5 @@\n import os\n-x = 1\n+x = 2\n+y = 3"
    assert state.invalid == state.rejected == []


PLACEMENTS: list[tuple[str, dict[str, Any], str | None]] = [
    ("added line", {"line": 3}, None),
    ("context line, right", {"line": 1, "side": "RIGHT"}, None),
    ("removed line, left", {"line": 2, "side": "LEFT"}, None),
    ("context line, left", {"line": 4, "side": "LEFT"}, None),
    ("second hunk", {"line": 22}, None),
    ("deprecated position", {"position": 3}, None),
    ("range within a hunk", {"start_line": 2, "line": 3}, None),
    ("between hunks", {"line": 10}, LINE_NOT_IN_DIFF),
    ("past the old side", {"line": 5, "side": "LEFT"}, LINE_NOT_IN_DIFF),
    ("unknown side", {"line": 3, "side": "MIDDLE"}, LINE_NOT_IN_DIFF),
    ("range across hunks", {"start_line": 3, "line": 22}, START_NOT_IN_HUNK),
    ("range of one line", {"start_line": 3, "line": 3}, START_NOT_BEFORE),
    ("range upside down", {"start_line": 4, "line": 3}, START_NOT_BEFORE),
    ("file not in the PR", {"path": "src/other.py", "line": 1}, PATH_UNRESOLVED),
    ("binary file, no patch", {"path": "logo.png", "line": 1}, LINE_NOT_IN_DIFF),
]


@pytest.mark.parametrize(
    ("placement", "expected"),
    [(p, e) for _, p, e in PLACEMENTS],
    ids=[name for name, _, _ in PLACEMENTS],
)
def test_comment_placement_follows_the_hunks(
    fake: tuple[str, FakeGitHub], gh: Github, placement: dict[str, Any], expected: str | None
) -> None:
    _, state = fake
    good = {"path": "docs/new.md", "line": 1, "body": "Fine."}
    bad = {"path": "src/app.py", "body": "Here.", **placement}
    if expected is None:
        _review(gh, good, bad)
        assert len(state.review_comments(OWNER, NAME, NUMBER)) == 2
        return
    with pytest.raises(GithubException) as refused:
        _review(gh, good, bad)  # one bad comment refuses the whole review
    assert refused.value.status == 422
    assert expected in refused.value.data["errors"][0]
    assert state.reviews(OWNER, NAME, NUMBER) == []
    assert state.review_comments(OWNER, NAME, NUMBER) == []
    assert [r.kind for r in state.rejected] == ["review"]
    assert state.invalid == []  # well-formed, just not placeable


@pytest.mark.parametrize("where", ["review body", "comment body", "issue comment"])
def test_bodies_over_65536_characters_are_refused(
    fake: tuple[str, FakeGitHub], gh: Github, where: str
) -> None:
    _, state = fake
    _, pr = _pr(gh)
    comment = {"path": "src/app.py", "line": 3, "body": "ok"}
    for size, allowed in ((65_536, True), (65_537, False)):
        text = "x" * size

        def post(text: str = text) -> object:
            if where == "review body":
                return _review(gh, comment, body=text)
            if where == "comment body":
                return _review(gh, {**comment, "body": text})
            return pr.create_issue_comment(text)

        if allowed:
            post()
            continue
        with pytest.raises(GithubException) as refused:
            post()
        assert refused.value.status == 422
        assert "body is too long (maximum is 65536 characters)" in json.dumps(refused.value.data)
    assert [r.kind for r in state.rejected] == ["too_long"]


def test_a_body_outside_the_schema_is_refused_before_anything_else(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    _, pr = _pr(gh)
    with pytest.raises(GithubException) as refused:
        gh.requester.requestJsonAndCheck("POST", f"{pr.url}/reviews", input={"event": "MAYBE"})
    assert refused.value.status == 422
    assert refused.value.data["message"] == "Invalid request."
    assert "MAYBE" in refused.value.data["errors"][0]
    with pytest.raises(GithubException) as no_body:
        gh.requester.requestJsonAndCheck("POST", f"{pr.url}/reviews", input={"comments": [{}]})
    assert no_body.value.status == 422
    assert [(i.kind, i.status) for i in state.invalid] == [("schema", 422), ("schema", 422)]
    assert state.rejected == []
    assert state.reviews(OWNER, NAME, NUMBER) == []


def test_review_rules_beyond_the_schema(fake: tuple[str, FakeGitHub], gh: Github) -> None:
    _, state = fake
    _, pr = _pr(gh)
    with pytest.raises(GithubException) as blank:
        pr.create_review(body="", event="COMMENT")
    assert blank.value.status == 422
    pr.create_review(body="Draft thoughts.")  # no event: a pending review
    with pytest.raises(GithubException) as second:
        pr.create_review(body="More.")
    assert "one pending review" in second.value.data["errors"][0]
    assert [r["state"] for r in state.reviews(OWNER, NAME, NUMBER)] == ["PENDING"]


def test_a_post_that_landed_but_answered_502_is_not_resent_without_post_retries(
    fake: tuple[str, FakeGitHub],
) -> None:
    url, state = fake
    state.fail_next("POST", r"/reviews$", status=502, apply=True)
    with _client(url, retry=GithubRetry(total=3, allowed_methods={"GET"})) as gh:
        with pytest.raises(GithubException) as failed:
            _review(gh, {"path": "src/app.py", "line": 3, "body": "x"})
        assert failed.value.status == 502
        _, pr = _pr(gh)
        assert [r.body for r in pr.get_reviews()] == ["Summary."]
    assert [r.status for r in state.requests if r.method == "POST"] == [502]


def test_pygithubs_default_retry_posts_a_landed_review_twice(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    state.fail_next("POST", r"/reviews$", status=502, apply=True)
    with _client(url, retry=GithubRetry(total=3)) as gh:
        _review(gh)
    assert len(state.reviews(OWNER, NAME, NUMBER)) == 2


def test_a_retry_budget_of_zero_raises_requests_retry_error(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    state.fail_next("POST", r"/reviews$", status=502, apply=False)
    with _client(url, retry=GithubRetry(total=0)) as gh, pytest.raises(RetryError):
        _review(gh)
    assert state.reviews(OWNER, NAME, NUMBER) == []  # apply=False: nothing landed


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limits_are_retried_after_the_header(
    fake: tuple[str, FakeGitHub], status: int
) -> None:
    url, state = fake
    state.fail_next("GET", rf"/pulls/{NUMBER}$", status=status, retry_after=0)
    with _client(url, retry=GithubRetry(total=2), lazy=True) as gh:
        assert gh.get_repo(f"{OWNER}/{NAME}").get_pull(NUMBER).title == "Tune x"
    assert [r.status for r in state.requests] == [status, 200]


def test_issue_comments_create_edit_react_and_paginate(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    for i in range(31):
        state.add_issue_comment(OWNER, NAME, NUMBER, f"+1 #{i}")
    _, pr = _pr(gh)
    mine = pr.create_issue_comment("Review started.")
    mine.edit("Review done.")
    mine.create_reaction("rocket")
    listed = list(pr.get_issue_comments())
    assert len(listed) == 32
    assert (listed[0].user.login, listed[-1].user.login) == ("mallory", state.bot_login)
    assert (listed[-1].body, listed[-1].url) == ("Review done.", mine.url)
    assert [r["content"] for r in state.reactions(mine.id)] == ["rocket"]
    assert state.issue_comments(OWNER, NAME, NUMBER)[-1]["body"] == "Review done."
    pages = [r for r in state.requests if r.method == "GET" and r.path.endswith("/comments")]
    assert len(pages) == 2


def test_compare_answers_until_a_force_push_loses_the_commit(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    repo, _ = _pr(gh)
    assert [f.filename for f in repo.compare(BASE, HEAD).files] == [f["filename"] for f in FILES]
    newer = [{"filename": "src/app.py", "status": "modified", "patch": "@@ -1 +1 @@\n-a\n+b"}]
    state.set_compare(OWNER, NAME, BASE, HEAD2, newer)
    state.push(OWNER, NAME, NUMBER, new_head_sha=HEAD2, files=newer, lost_shas=[HEAD])
    comparison = repo.compare(BASE, HEAD2)
    assert (comparison.status, [f.filename for f in comparison.files]) == ("ahead", ["src/app.py"])
    with pytest.raises(GithubException) as lost:
        repo.compare(BASE, HEAD).status  # noqa: B018 - the property fetches
    assert lost.value.status == 404
    pr = repo.get_pull(NUMBER)
    with pytest.raises(GithubException) as stale:
        gh.requester.requestJsonAndCheck(
            "POST", f"{pr.url}/reviews", input={"commit_id": HEAD, "body": "x", "event": "COMMENT"}
        )
    assert stale.value.data["errors"] == ["The commitOID is not part of the pull request"]


def test_a_review_on_an_earlier_head_uses_that_heads_diff(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    state.push(OWNER, NAME, NUMBER, new_head_sha=HEAD2, files=FILES[1:])
    review = _review(gh, {"path": "src/app.py", "line": 3, "body": "Still there at HEAD."})
    assert review.commit_id == HEAD
    with pytest.raises(GithubException):
        _review(gh, {"path": "src/app.py", "line": 3, "body": "Gone at HEAD2."}, sha=HEAD2)


def test_collaborator_permission_maps_roles_to_legacy_levels(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    repo, _ = _pr(gh)
    state.set_permission(OWNER, NAME, "bob", "maintain")
    state.set_permission(OWNER, NAME, "carol", "triage")
    assert [repo.get_collaborator_permission(u) for u in ("bob", "carol", "mallory")] == [
        "write",
        "read",
        "none",
    ]
    _, raw = gh.requester.requestJsonAndCheck("GET", f"{repo.url}/collaborators/bob/permission")
    assert (raw["permission"], raw["role_name"]) == ("write", "maintain")


def test_check_run_lifecycle(fake: tuple[str, FakeGitHub], gh: Github) -> None:
    _, state = fake
    repo, _ = _pr(gh)
    run = repo.create_check_run(name="tiered-review", head_sha=HEAD, status="in_progress")
    run.edit(conclusion="neutral", output={"title": "Review", "summary": "2 findings"})
    assert (run.status, run.conclusion, run.output.summary) == (
        "completed",
        "neutral",
        "2 findings",
    )
    assert [r["conclusion"] for r in state.check_runs(OWNER, NAME)] == ["neutral"]
    with pytest.raises(GithubException) as unknown:
        repo.create_check_run(name="x", head_sha="f" * 40)
    assert unknown.value.status == 422


def test_an_app_gets_an_installation_token(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with GithubIntegration(base_url=url, auth=Auth.AppAuth(123, pem), retry=None) as app:
        installation = app.get_repo_installation(OWNER, NAME)
        token = app.get_access_token(installation.id)
    assert (installation.id, token.token) == (state.installation_id, state.tokens[0])
    assert token.expires_at is not None


def _raw(
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data, dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_authentication_and_unknown_routes(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    auth = {"Authorization": "token t"}
    repo = f"{url}/repos/{OWNER}/{NAME}"
    assert _raw(repo)[0] == 401
    assert _raw(repo, headers=auth)[1]["full_name"] == "acme/widgets"
    assert _raw(f"{repo}/branches", headers=auth) == (404, _raw(f"{url}/nope", headers=auth)[1])
    assert _raw(f"{repo}/pulls/{NUMBER}", "DELETE", auth)[0] == 404
    assert _raw(f"{repo}/pulls/seven", headers=auth)[0] == 404
    assert _raw(f"{repo}/pulls/{NUMBER}/files?per_page=many", headers=auth)[0] == 422
    kinds = ["auth", "route", "route", "route", "parameter", "parameter"]
    assert [i.kind for i in state.invalid] == kinds


def test_a_body_that_is_not_json_is_refused_with_400(fake: tuple[str, FakeGitHub]) -> None:
    url, state = fake
    headers = {"Authorization": "token t", "Content-Type": "application/json"}
    comments = f"{url}/repos/{OWNER}/{NAME}/issues/{NUMBER}/comments"
    status, payload = _raw(comments, "POST", headers, b"{not json")
    assert (status, payload["message"]) == (400, "Problems parsing JSON")
    assert [i.kind for i in state.invalid] == ["json"]
    assert state.issue_comments(OWNER, NAME, NUMBER) == []


def test_single_review_comments_replies_and_file_comments(
    fake: tuple[str, FakeGitHub], gh: Github
) -> None:
    _, state = fake
    repo, pr = _pr(gh)
    first = pr.create_review_comment("Why 3?", repo.get_commit(HEAD), "src/app.py", line=3)
    pr.create_review_comment("Because.", HEAD, "src/app.py", in_reply_to=first.id)
    pr.create_review_comment("About this file.", HEAD, "docs/new.md", subject_type="file")
    stored = state.review_comments(OWNER, NAME, NUMBER)
    assert [(c["path"], c["line"], c["subject_type"], c.get("in_reply_to_id")) for c in stored] == [
        ("src/app.py", 3, "line", None),
        ("src/app.py", 3, "line", first.id),
        ("docs/new.md", None, "file", None),
    ]
    assert len(state.reviews(OWNER, NAME, NUMBER)) == 3  # GitHub wraps each in a review
    for path, line in (("src/app.py", 10), ("src/other.py", None)):
        with pytest.raises(GithubException) as refused:
            if line is None:
                pr.create_review_comment("x", HEAD, path, subject_type="file")
            else:
                pr.create_review_comment("x", HEAD, path, line=line)
        assert refused.value.status == 422
    assert len(state.review_comments(OWNER, NAME, NUMBER)) == 3


def test_replies_outside_githubs_schema_are_reported() -> None:
    with github_fake() as (url, state):
        broken = [{"filename": "x.py", "status": "added", "sha": 5}]  # sha must be a string
        state.open_pr(
            OWNER, NAME, 1, title="T", body=None, base_sha=BASE, head_sha=HEAD, files=broken
        )
        with _client(url) as gh:
            assert len(list(gh.get_repo(f"{OWNER}/{NAME}").get_pull(1).get_files())) == 1
        assert state.response_errors == [
            "GET /repos/acme/widgets/pulls/1/files -> 200: 0/sha: 5 is not of type 'string', 'null'"
        ]


def test_a_path_prefix_as_on_enterprise_server() -> None:
    with github_fake(prefix="/api/v3") as (url, state):
        state.open_pr(
            OWNER, NAME, 1, title="T", body=None, base_sha=BASE, head_sha=HEAD, files=FILES
        )
        with _client(url, per_page=2) as gh:
            pr = gh.get_repo(f"{OWNER}/{NAME}").get_pull(1)
            assert pr.url == f"{url}/repos/{OWNER}/{NAME}/pulls/1"
            assert len(list(pr.get_files())) == 3
        assert state.response_errors == []
