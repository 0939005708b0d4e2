"""A loopback fake of GitHub's REST API holding pull-request state, checked against its OpenAPI."""

# Requests are matched to the operations of the OpenAPI subset in tests/fixtures/github-openapi and
# validated against them (path and query parameters, JSON bodies); review comments are resolved
# against the hunks of the patches the fake serves; the fake's own replies are checked against the
# response schemas.
# Every URL in a reply carries the fake's own address: PyGithub follows `url` fields and `Link`
# headers (only their path; another host trips an assertion). https://docs.github.com/rest

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import datetime as dt
import functools
import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import Response
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.chaos import Chaos, Draw
from tests.fakes.server import serve

DEFAULT_OPENAPI = (
    Path(__file__).resolve().parents[1] / "fixtures" / "github-openapi" / "rest-subset.json"
)
# GitHub's descriptions of the review-thread endpoints the conversation uses (tests/fixtures).
CONVERSATION_OPENAPI = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "github-conversation"
    / "rest-conversation.json"
)
BOT_LOGIN = "tiered-review[bot]"
MAX_BODY = 65_536  # review, review comment and issue comment bodies
MAX_PR_FILES = 3_000  # pulls/list-files stops here
MAX_COMPARE_FILES = 300  # compare lists this many files, on its first page only
MAX_CONTENT_BYTES = 1024 * 1024  # larger files come back with encoding "none" and no content
DOCS = "https://docs.github.com/rest"
SECONDARY_RATE_LIMIT = "You have exceeded a secondary rate limit"

# GitHub's wording for comments it cannot place (seen in real 422 bodies; one string per review).
LINE_NOT_IN_DIFF = "Pull request review thread line must be part of the diff"
HUNK_BLANK = "Pull request review thread diff hunk can't be blank"
START_NOT_IN_HUNK = (
    "Pull request review thread start line must be part of the same hunk as the line."
)
START_NOT_BEFORE = "Pull request review thread start line must precede the end line."
PATH_UNRESOLVED = "Path could not be resolved"
COMMIT_NOT_IN_PR = "The commitOID is not part of the pull request"
TOO_LONG = "body is too long (maximum is 65536 characters)"

PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")
_LEGACY_PERMISSION = {"maintain": "write", "triage": "read"}  # `permission` maps these down
_FILE_STATUSES = frozenset({"added", "removed", "modified", "renamed", "copied", "changed"})
_REVIEW_STATES = {
    "APPROVE": "APPROVED",
    "REQUEST_CHANGES": "CHANGES_REQUESTED",
    "COMMENT": "COMMENTED",
}
_REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
# Random faults `FakeGitHub.chaos` injects: a 502 before the request is applied, a slow answer,
# and a write applied but answered 502 (reads drawing it get a plain 502).
GITHUB_CHAOS_KINDS = ("502", "slow", "applied_502")
_WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
_ANY_PATH = re.compile("")


# --- records tests read -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GitHubRequest:
    """One request the fake answered."""

    method: str
    path: str  # without the base URL's prefix
    query: Mapping[str, str]
    body: Any  # parsed JSON, the raw text when it did not parse, or None
    status: int
    # The fault it met: "502" (not applied), "applied_502" (applied, then 502), "slow", ...
    fault: str | None = None
    answered: float = 0.0  # time.monotonic() when the fake answered it


@dataclass(frozen=True, slots=True)
class RefusedRequest:
    """A request the fake refused, with GitHub's error messages."""

    method: str
    path: str
    kind: str  # see OPENAPI_KINDS; else "review", "too_long" or "state" (`FakeGitHub.rejected`)
    status: int
    errors: tuple[str, ...]


# Refusals because the request does not fit GitHub's OpenAPI description (`FakeGitHub.invalid`);
# the others are well-formed requests GitHub refuses given the state (`FakeGitHub.rejected`).
OPENAPI_KINDS = frozenset({"route", "auth", "parameter", "json", "schema"})


@dataclass(slots=True)
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    apply: bool
    retry_after: float | None


class _HttpError(Exception):
    """An error reply; with `kind` it is also recorded as a `RefusedRequest`."""

    def __init__(
        self, status: int, payload: dict[str, Any], kind: str | None = None, *errors: str
    ) -> None:
        super().__init__(payload.get("message"))
        self.status, self.payload, self.kind = status, payload, kind
        self.errors = errors or (str(payload.get("message")),)


def _error(status: int, message: str, docs: str = DOCS, **extra: Any) -> dict[str, Any]:
    return {"message": message, **extra, "documentation_url": docs, "status": str(status)}


def _unprocessable(kind: str, docs: str, *errors: str) -> _HttpError:
    return _HttpError(
        422, _error(422, "Unprocessable Entity", docs, errors=list(errors)), kind, *errors
    )


def _too_long(resource: str, docs: str) -> _HttpError:
    detail = {"resource": resource, "code": "custom", "field": "body", "message": TOO_LONG}
    return _HttpError(
        422, _error(422, "Validation Failed", docs, errors=[detail]), "too_long", TOO_LONG
    )


def _sentence(parts: Sequence[str]) -> str:
    """Join messages the way GitHub (Rails' `to_sentence`) does."""
    if len(parts) < 3:
        return " and ".join(parts)
    return f"{', '.join(parts[:-1])}, and {parts[-1]}"


# --- the OpenAPI subset -------------------------------------------------------------------------

_SPEC_URI = "urn:tiered-review:github-rest-subset"
_GREEDY = frozenset({"path", "ref", "basehead"})  # path parameters that may contain "/"
_DROP = frozenset(
    {"nullable", "discriminator", "example", "examples", "externalDocs", "deprecated", "xml"}
)
_NAME_MAPS = frozenset({"properties", "patternProperties", "schemas"})  # keys are names there


def _json_schema(node: Any, *, names: bool = False) -> Any:
    """An OpenAPI 3.0 document as JSON Schema draft 4: `nullable: true` also admits null."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: _json_schema(value) for key, value in node.items()}
    out = {
        key: _json_schema(value, names=key in _NAME_MAPS)
        for key, value in node.items()
        if key not in _DROP and not key.startswith("x-")
    }
    if node.get("nullable") is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the subset, with validators for what goes in and what comes out."""

    method: str
    template: str
    operation_id: str
    docs: str
    pattern: re.Pattern[str]
    path_params: Mapping[str, Mapping[str, Any]]
    query_params: Mapping[str, tuple[bool, Mapping[str, Any]]]
    body: Draft4Validator | None
    body_required: bool
    responses: Mapping[int, Draft4Validator]


class OpenApiSubset:
    """The operations of `rest-subset.json`, matched by method and path template."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        converted = _json_schema(document)
        registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(converted, default_specification=DRAFT4)
        )

        def validator(*parts: str) -> Draft4Validator:
            return Draft4Validator({"$ref": f"{_SPEC_URI}#{_pointer(*parts)}"}, registry=registry)

        operations = []
        for template, item in converted["paths"].items():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                params = op.get("parameters", [])
                body = op.get("requestBody", {}).get("content", {}).get("application/json")
                responses = {
                    int(code): validator("paths", template, method, "responses", code, *media)
                    for code, reply in op["responses"].items()
                    if code.isdigit()
                    and "schema" in reply.get("content", {}).get("application/json", {})
                    for media in [("content", "application/json", "schema")]
                }
                regex = re.sub(
                    r"\{(\w+)\}",
                    lambda m: f"(?P<{m[1]}>{'.+' if m[1] in _GREEDY else '[^/]+'})",
                    template,
                )
                operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op["operationId"],
                        docs=document["paths"][template][method]
                        .get("externalDocs", {})
                        .get("url", DOCS),
                        pattern=re.compile(f"^{regex}$"),
                        path_params={
                            p["name"]: p.get("schema", {}) for p in params if p["in"] == "path"
                        },
                        query_params={
                            p["name"]: (bool(p.get("required")), p.get("schema", {}))
                            for p in params
                            if p["in"] == "query"
                        },
                        body=(
                            validator(
                                "paths",
                                template,
                                method,
                                "requestBody",
                                "content",
                                "application/json",
                                "schema",
                            )
                            if body and "schema" in body
                            else None
                        ),
                        body_required=bool(op.get("requestBody", {}).get("required")),
                        responses=responses,
                    )
                )
        # Literal segments first, so a fixed path wins over a template that could also match it.
        self.operations = tuple(
            sorted(operations, key=lambda o: (-len(re.sub(r"\{\w+\}", "", o.template)), o.template))
        )

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `method path`, with its raw path parameters."""
        for op in self.operations:
            found = op.pattern.match(path)
            if found and op.method == method:
                return op, found.groupdict()
        return None


@functools.cache
def load_openapi(path: Path = DEFAULT_OPENAPI) -> OpenApiSubset:
    """Load and convert the OpenAPI subset once per process."""
    document = _with_repo_comments(json.loads(path.read_text(encoding="utf-8")))
    return OpenApiSubset(_with_conversation(document))


def _with_conversation(document: dict[str, Any]) -> dict[str, Any]:
    """Add the review-thread operations (replies, reactions) from their own excerpt."""
    extra = json.loads(CONVERSATION_OPENAPI.read_text(encoding="utf-8"))
    for template, item in extra["paths"].items():
        document["paths"].setdefault(template, {}).update(item)
    for kind, named in extra["components"].items():
        target = document.setdefault("components", {}).setdefault(kind, {})
        for name, node in named.items():
            target.setdefault(name, node)
    return document


def _with_repo_comments(document: dict[str, Any]) -> dict[str, Any]:
    """Add `issues/list-comments-for-repo`, which the shared subset lacks, built from its PR twin.

    GitHub documents it as the same comment objects as `issues/list-comments`, for the whole
    repository: https://docs.github.com/rest/issues/comments#list-issue-comments-for-a-repository
    """
    twin = document["paths"]["/repos/{owner}/{repo}/issues/{issue_number}/comments"]["get"]
    op = copy.deepcopy(twin)
    op["operationId"] = "issues/list-comments-for-repo"
    op["parameters"] = [p for p in op["parameters"] if p["name"] != "issue_number"] + [
        {
            "in": "query",
            "name": "sort",
            "schema": {"type": "string", "enum": ["created", "updated"]},
        },
        {"in": "query", "name": "direction", "schema": {"type": "string", "enum": ["asc", "desc"]}},
    ]
    op["responses"] = {k: v for k, v in op["responses"].items() if k in ("200", "404")}
    document["paths"].setdefault("/repos/{owner}/{repo}/issues/comments", {})["get"] = op
    return document


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    """A query or path string as the type its schema declares; ValueError when it is not one."""
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if kind == "boolean":
        if value not in ("true", "false"):
            raise ValueError(f"{value!r} is not a boolean")
        return value == "true"
    return value


def _schema_errors(validator: Draft4Validator, instance: Any) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or 'body'}: {error.message}"
        for error in errors
    ]


# --- hunks --------------------------------------------------------------------------------------

_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a file's patch: `position` counts lines below the first `@@`, as GitHub does."""

    position: int
    hunk: int
    hunk_start: int  # position of this hunk's `@@` line
    kind: str  # "+", "-" or " "
    old: int | None
    new: int | None


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a review comment landed once resolved against the hunks."""

    path: str
    line: int | None  # None (with side and position) for a comment on the whole file
    side: str | None
    start_line: int | None
    start_side: str | None
    position: int | None
    diff_hunk: str
    subject_type: str = "line"


def parse_patch(patch: str) -> tuple[tuple[str, ...], tuple[DiffLine, ...]]:
    """The lines from the first hunk header on, and the numbered diff lines of GitHub's `patch`."""
    lines = patch.split("\n")  # not splitlines(): code may hold \x0c, \x1c and friends
    if lines and lines[-1] == "":
        lines.pop()
    first = next((i for i, text in enumerate(lines) if _HUNK_HEADER.match(text)), len(lines))
    lines = lines[first:]
    numbered: list[DiffLine] = []
    hunk, start, old, new = -1, 0, 0, 0
    for position, text in enumerate(lines):
        header = _HUNK_HEADER.match(text)
        if header:
            hunk, start, old, new = hunk + 1, position, int(header[1]), int(header[2])
            continue
        if text.startswith("\\"):  # "\ No newline at end of file" carries no line numbers
            continue
        kind = text[0] if text[:1] in ("+", "-") else " "
        numbered.append(
            DiffLine(
                position,
                hunk,
                start,
                kind,
                None if kind == "+" else old,
                None if kind == "-" else new,
            )
        )
        old += kind != "+"
        new += kind != "-"
    return tuple(lines), tuple(numbered)


def _locate(lines: Iterable[DiffLine], line: Any, side: str) -> DiffLine | None:
    if not isinstance(line, int) or side not in ("LEFT", "RIGHT"):
        return None
    for diff_line in lines:
        if (diff_line.new if side == "RIGHT" else diff_line.old) == line:
            return diff_line
    return None


def resolve_comment(
    comment: Mapping[str, Any], files: Mapping[str, Mapping[str, Any]]
) -> Anchor | list[str]:
    """Place one review comment on the PR's hunks, or say why GitHub would refuse it."""
    path = comment.get("path")
    entry = files.get(path) if isinstance(path, str) else None
    if entry is None:
        return [PATH_UNRESOLVED]
    lines, numbered = parse_patch(entry.get("patch") or "")
    side = comment.get("side", "RIGHT")
    line = comment.get("line")
    if line is None and isinstance(comment.get("position"), int):  # the deprecated anchor
        by_position = next((d for d in numbered if d.position == comment["position"]), None)
        if by_position is not None:
            side = "LEFT" if by_position.kind == "-" else "RIGHT"
            line = by_position.old if side == "LEFT" else by_position.new
    end = _locate(numbered, line, side)
    if end is None:
        return [LINE_NOT_IN_DIFF, HUNK_BLANK]
    start_line = comment.get("start_line")
    start_side = comment.get("start_side", side) if start_line is not None else None
    if start_line is not None:
        start = _locate(numbered, start_line, str(start_side))
        if start is None or start.hunk != end.hunk:
            return [START_NOT_IN_HUNK]
        if start.position >= end.position:
            return [START_NOT_BEFORE]
    assert isinstance(line, int)
    return Anchor(
        path=str(path),
        line=line,
        side=side,
        start_line=start_line,
        start_side=start_side,
        position=end.position,
        diff_hunk="\n".join(lines[end.hunk_start : end.position + 1]),
    )


# --- state --------------------------------------------------------------------------------------


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(owner: str, repo: str) -> tuple[str, str]:
    return owner.lower(), repo.lower()  # GitHub's owner and repository names ignore case


def _normalize_files(files: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Test-supplied pulls/list-files items, with counts filled in from the patch when missing."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for given in files:
        item = dict(given)
        name = item.get("filename")
        if not isinstance(name, str) or not name or name in seen:
            raise ValueError(f"each file needs a unique `filename`: {given!r}")
        if item.setdefault("status", "modified") not in _FILE_STATUSES:
            raise ValueError(f"{name}: status {item['status']!r} is not one GitHub uses")
        numbered = parse_patch(item["patch"])[1] if isinstance(item.get("patch"), str) else ()
        item.setdefault("additions", sum(d.kind == "+" for d in numbered))
        item.setdefault("deletions", sum(d.kind == "-" for d in numbered))
        item.setdefault("changes", item["additions"] + item["deletions"])
        seen.add(name)
        out.append(item)
    return out


@dataclass(slots=True)
class _Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    created_at: dt.datetime


@dataclass(slots=True)
class _Pull:
    owner: str
    repo: str
    number: int
    id: int
    title: str
    body: str | None
    user: str
    draft: bool
    labels: tuple[str, ...]
    base_ref: str
    head_ref: str
    head_owner: str
    base_sha: str
    head_sha: str
    files: list[dict[str, Any]]
    files_at: dict[str, list[dict[str, Any]]]  # head SHA -> the PR's files at that head
    commits: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    state: str = "open"


@dataclass(frozen=True, slots=True)
class _Commit:
    sha: str
    parents: tuple[str, ...]
    author: str


@dataclass(slots=True)
class _Compare:
    files: list[dict[str, Any]]
    commits: list[str]
    merge_base: str | None = None  # the base commit unless set


@dataclass(slots=True)
class _Call:
    """One matched request, as handlers see it."""

    base: str  # scheme://host:port plus any prefix
    path: str
    op: Operation
    params: dict[str, Any]
    query: dict[str, str]
    body: Any

    @property
    def repo_key(self) -> tuple[str, str]:
        """The repository's case-folded (owner, name)."""
        return _key(self.params["owner"], self.params["repo"])

    def int_query(self, name: str, default: int) -> int:
        """An integer query parameter (already checked against the operation)."""
        return int(self.query[name]) if name in self.query else default


_Reply = tuple[int, Any, dict[str, str]]


class FakeGitHub:
    """GitHub's pull-request state behind the fake REST API; every method is thread-safe."""

    def __init__(
        self,
        *,
        openapi_path: Path = DEFAULT_OPENAPI,
        bot_login: str = BOT_LOGIN,
        clock: Callable[[], dt.datetime] = _utcnow,
        check_responses: bool = True,
        app_id: int = 1,
        installation_id: int = 1,
    ) -> None:
        self.spec = load_openapi(openapi_path)
        self.bot_login = bot_login
        self.clock = clock
        self.check_responses = check_responses
        self.app_id = app_id
        self.installation_id = installation_id
        self._lock = threading.RLock()
        self._next_id = 1000
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._contents: dict[tuple[str, str, str, str], bytes] = {}
        self._pulls: dict[tuple[str, str, int], _Pull] = {}
        self._commits: dict[tuple[str, str, str], _Commit] = {}
        self._lost: set[tuple[str, str, str]] = set()
        self._compares: dict[tuple[str, str, str, str], _Compare] = {}
        self._permissions: dict[tuple[str, str, str], str] = {}
        self._reviews: list[dict[str, Any]] = []
        self._review_comments: list[dict[str, Any]] = []
        self._issue_comments: list[dict[str, Any]] = []
        self._reactions: list[dict[str, Any]] = []
        self._resolved: dict[int, str] = {}  # a thread's first comment id -> who resolved it
        self._check_runs: list[dict[str, Any]] = []
        self._tokens: list[str] = []
        self._faults: list[_Fault] = []
        self._chaos: Chaos | None = None
        self._fault_used: _Fault | None = None  # the fault `_answer` applied, read by `handle`
        self._slow_s = (2.0, 5.0)
        self._requests: list[GitHubRequest] = []
        self._refused: list[RefusedRequest] = []
        self._response_errors: list[str] = []

    # -- scenario set-up ---------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_repo(self, owner: str, repo: str, default_branch: str = "main") -> None:
        """Create (or keep) a repository."""
        with self._lock:
            if _key(owner, repo) not in self._repos:
                self._repos[_key(owner, repo)] = _Repo(
                    owner, repo, self._new_id(), default_branch, self.clock()
                )

    def _commit(
        self, owner: str, repo: str, sha: str, parents: tuple[str, ...], author: str
    ) -> None:
        self._commits.setdefault((*_key(owner, repo), sha), _Commit(sha, parents, author))

    def set_file(self, owner: str, repo: str, sha: str, path: str, content: str | bytes) -> None:
        """Hold `content` at `path` as of commit (or branch) `sha`, for contents requests."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        with self._lock:
            self.add_repo(owner, repo)
            self._contents[(*_key(owner, repo), sha, path.strip("/"))] = data
            self._commit(owner, repo, sha, (), "alice")

    def open_pr(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        title: str,
        body: str | None,
        base_sha: str,
        head_sha: str,
        files: Iterable[Mapping[str, Any]],
        user: str = "alice",
        draft: bool = False,
        labels: Iterable[str] = (),
        head_ref: str = "feature",
        base_ref: str | None = None,
        head_owner: str | None = None,
    ) -> None:
        """Open pull request `number` with the pulls/list-files items `files` at `head_sha`."""
        normalized = _normalize_files(files)
        with self._lock:
            self.add_repo(owner, repo)
            now = self.clock()
            self._pulls[(*_key(owner, repo), number)] = _Pull(
                owner=owner,
                repo=repo,
                number=number,
                id=self._new_id(),
                title=title,
                body=body,
                user=user,
                draft=draft,
                labels=tuple(labels),
                base_ref=base_ref or self._repos[_key(owner, repo)].default_branch,
                head_ref=head_ref,
                head_owner=head_owner or owner,
                base_sha=base_sha,
                head_sha=head_sha,
                files=normalized,
                files_at={head_sha: normalized},
                commits=[head_sha],
                created_at=now,
                updated_at=now,
            )
            self._commit(owner, repo, base_sha, (), user)
            self._commit(owner, repo, head_sha, (base_sha,), user)

    def push(
        self,
        owner: str,
        repo: str,
        number: int,
        *,
        new_head_sha: str,
        files: Iterable[Mapping[str, Any]],
        lost_shas: Iterable[str] = (),
    ) -> None:
        """Move the PR's head; `lost_shas` were force-pushed away (compare and commits 404/422)."""
        normalized = _normalize_files(files)
        with self._lock:
            pull = self._pulls[(*_key(owner, repo), number)]
            lost = set(lost_shas)
            self._lost |= {(*_key(owner, repo), sha) for sha in lost}
            parent = pull.base_sha if pull.head_sha in lost else pull.head_sha
            pull.commits = [sha for sha in pull.commits if sha not in lost] + [new_head_sha]
            pull.files_at = {sha: f for sha, f in pull.files_at.items() if sha not in lost}
            pull.files_at[new_head_sha] = normalized
            pull.head_sha, pull.files, pull.updated_at = new_head_sha, normalized, self.clock()
            self._commit(owner, repo, new_head_sha, (parent,), pull.user)

    def close_pr(self, owner: str, repo: str, number: int) -> None:
        """Close the pull request (GitHub's `state: closed`)."""
        with self._lock:
            pull = self._pulls[(*_key(owner, repo), number)]
            pull.state, pull.updated_at = "closed", self.clock()

    def set_compare(
        self,
        owner: str,
        repo: str,
        base: str,
        head: str,
        files: Iterable[Mapping[str, Any]],
        *,
        commits: Sequence[str] | None = None,
        merge_base: str | None = None,
    ) -> None:
        """Answer `compare/{base}...{head}` with `files` (GitHub's status "ahead").

        `merge_base` is the commit the two share when the base branch moved on since the head
        forked from it (GitHub then reports "diverged"); by default it is `base` itself.
        """
        normalized = _normalize_files(files)
        with self._lock:
            self.add_repo(owner, repo)
            self._commit(owner, repo, base, (), "alice")
            self._commit(owner, repo, head, (base,), "alice")
            if merge_base is not None:
                self._commit(owner, repo, merge_base, (), "alice")
            self._compares[(*_key(owner, repo), base, head)] = _Compare(
                normalized, list(commits or [head]), merge_base
            )

    def set_permission(self, owner: str, repo: str, user: str, permission: str) -> None:
        """Give `user` a role on the repository (unset users answer "none")."""
        if permission not in PERMISSIONS:
            raise ValueError(f"permission must be one of {PERMISSIONS}")
        with self._lock:
            self._permissions[(*_key(owner, repo), user.lower())] = permission

    def add_issue_comment(
        self, owner: str, repo: str, number: int, body: str, user: str = "mallory"
    ) -> int:
        """Post an issue comment as someone else; returns its id."""
        with self._lock:
            return int(self._store_issue_comment(_key(owner, repo), number, body, user)["id"])

    def add_review_reply(
        self, owner: str, repo: str, number: int, parent_id: int, body: str, user: str = "alice"
    ) -> dict[str, Any]:
        """Reply as someone else in the thread of review comment `parent_id`; the stored record."""
        with self._lock:
            parent = next(c for c in self._review_comments if c["id"] == parent_id)
            record = {
                **copy.deepcopy(parent),
                "id": self._new_id(),
                "body": body,
                "user": user,
                "created_at": _iso(self.clock()),
                "in_reply_to_id": parent.get("in_reply_to_id") or parent_id,
            }
            self._review_comments.append(record)
            return copy.deepcopy(record)

    def review_comment_json(self, base: str, comment_id: int) -> dict[str, Any]:
        """A stored review comment as GitHub renders it (for a webhook payload's `comment`)."""
        with self._lock:
            comment = next(c for c in self._review_comments if c["id"] == comment_id)
            repo = self._repos[comment["repo_key"]]
            return _review_comment_json(base, repo, comment)

    def react(self, comment_id: int, content: str, user: str = "alice") -> None:
        """Leave a reaction (`+1`, `-1`, ...) on a comment as someone else."""
        if content not in _REACTIONS:
            raise ValueError(f"content must be one of {_REACTIONS}")
        with self._lock:
            self._reactions.append(
                {
                    "id": self._new_id(),
                    "comment_id": comment_id,
                    "content": content,
                    "user": user,
                    "created_at": _iso(self.clock()),
                }
            )

    def resolve_thread(self, first_comment_id: int, user: str = "alice") -> None:
        """Resolve the review thread that starts with `first_comment_id`, as `user`."""
        with self._lock:
            self._resolved[first_comment_id] = user

    def has_repo(self, owner: str, repo: str) -> bool:
        """Whether the repository exists."""
        with self._lock:
            return _key(owner, repo) in self._repos

    def threads(self, repo_key: tuple[str, str], number: int) -> list[dict[str, Any]] | None:
        """A PR's review threads, oldest first (None when there is no such PR).

        A thread is outdated once the PR's head no longer has its file's patch as it was at the
        commit the thread was written on: GitHub marks a thread outdated when its hunk changed.
        """
        with self._lock:
            pull = self._pulls.get((*repo_key, number))
            if pull is None:
                return None
            mine = [
                c
                for c in self._review_comments
                if c["repo_key"] == repo_key and c["number"] == number
            ]
            out = []
            for root in (c for c in mine if c.get("in_reply_to_id") is None):
                out.append(
                    {
                        "comments": [root]
                        + [c for c in mine if c.get("in_reply_to_id") == root["id"]],
                        "outdated": _patch_of(pull.files_at.get(root["commit_id"]), root["path"])
                        != _patch_of(pull.files, root["path"]),
                        "resolved_by": self._resolved.get(root["id"]),
                    }
                )
            return copy.deepcopy(out)

    def resolve_thread_by_node(self, node_id: str) -> dict[str, Any] | None:
        """Resolve a thread by its GraphQL id, as the bot; the thread, or None when unknown."""
        with self._lock:
            for root in self._review_comments:
                if root.get("in_reply_to_id") is None and f"PRRT_{root['id']:x}" == node_id:
                    self._resolved.setdefault(root["id"], self.bot_login)
                    threads = self.threads(root["repo_key"], root["number"]) or []
                    return next(t for t in threads if t["comments"][0]["id"] == root["id"])
            return None

    def graphql(self, authorization: str | None, raw: bytes) -> _Reply:
        """Answer one `POST /graphql`, checked against GitHub's schema excerpt."""
        from tests.fakes import github_graphql

        with self._lock:
            path = "/graphql"
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            if not (authorization or "").partition(" ")[2]:
                reply: _Reply = (401, _error(401, "Requires authentication"), {})
                self._refused.append(RefusedRequest("POST", path, "auth", 401, ("no token",)))
            else:
                problems, payload = github_graphql.answer(self, body)
                if problems:
                    self._refused.append(
                        RefusedRequest("POST", path, "schema", 200, tuple(problems))
                    )
                reply = (200, payload, {})
            self._requests.append(
                GitHubRequest("POST", path, {}, body, reply[0], None, time.monotonic())
            )
            return reply

    def resolved_threads(self) -> dict[int, str]:
        """Resolved threads: first comment id -> who resolved it."""
        with self._lock:
            return dict(self._resolved)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        times: int = 1,
        apply: bool = True,
        retry_after: float | None = None,
    ) -> None:
        """Fail the next `times` matching requests with `status`, after applying them if `apply`."""
        # 403 and 429 carry GitHub's secondary-rate-limit message; `retry_after` adds the header.
        # Without the header GithubRetry waits `secondary_rate_wait` (60 s by default) on a 403.
        with self._lock:
            self._faults.append(
                _Fault(method.upper(), re.compile(path_regex), status, times, apply, retry_after)
            )

    def chaos(
        self,
        rate: float,
        kinds: Iterable[str] = GITHUB_CHAOS_KINDS,
        seed: int = 0,
        *,
        slow_s: tuple[float, float] = (2.0, 5.0),
    ) -> None:
        """Fail each request with probability `rate`, of a kind drawn evenly from `kinds`.

        "502" answers 502 without applying the request; "slow" answers normally after a delay
        drawn from `slow_s`; "applied_502" applies a write, then answers 502 (a read drawing it
        is answered 502). Scripted `fail_next` faults come first. Deterministic for a seed (see
        `tests.fakes.chaos`); a rate of 0 turns chaos off.
        """
        chosen = tuple(kinds)
        unknown = sorted(set(chosen) - set(GITHUB_CHAOS_KINDS))
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected {GITHUB_CHAOS_KINDS}")
        with self._lock:
            self._chaos = Chaos(rate, chosen, seed) if rate > 0 else None
            self._slow_s = slow_s

    def injected(self) -> dict[str, int]:
        """How many random faults of each kind chaos injected (scripted ones are not counted)."""
        with self._lock:
            chaos = self._chaos
        return {} if chaos is None else chaos.injected()

    def draw(self, method: str, path: str, query: Mapping[str, str], raw: bytes) -> Draw | None:
        """The chaos fault for this request, if any (the ASGI app asks before `handle`)."""
        with self._lock:
            chaos = self._chaos
        if chaos is None:
            return None
        kinds = chaos.kinds
        if method.upper() not in _WRITE_METHODS:  # a read has nothing to apply
            kinds = tuple("502" if k == "applied_502" else k for k in kinds)
        args = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        identity = f"{method.upper()} {path}?{args}\0{hashlib.sha256(raw).hexdigest()}"
        return chaos.draw(identity, kinds)

    def delay(self, drawn: Draw) -> float:
        """Seconds a "slow" fault waits before the answer."""
        low, high = self._slow_s
        return low + (high - low) * drawn.fraction

    # -- what tests read back ----------------------------------------------------------------

    @property
    def requests(self) -> list[GitHubRequest]:
        """Every request answered so far, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def invalid(self) -> list[RefusedRequest]:
        """Requests outside GitHub's OpenAPI: unknown route, no auth, bad parameters or body."""
        with self._lock:
            return [r for r in self._refused if r.kind in OPENAPI_KINDS]

    @property
    def rejected(self) -> list[RefusedRequest]:
        """Well-formed requests GitHub refuses: unplaceable comments, long bodies, unknown SHAs."""
        with self._lock:
            return [r for r in self._refused if r.kind not in OPENAPI_KINDS]

    @property
    def response_errors(self) -> list[str]:
        """Replies of the fake that broke GitHub's response schemas: a bug in the fake."""
        with self._lock:
            return list(self._response_errors)

    @property
    def tokens(self) -> list[str]:
        """Installation tokens handed out."""
        with self._lock:
            return list(self._tokens)

    def _select(self, records: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(r) for r in records if all(r.get(k) == v for k, v in match.items())
            ]

    def reviews(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        """Stored reviews of a PR (id, user, body, state, commit_id, submitted_at)."""
        return self._select(self._reviews, repo_key=_key(owner, repo), number=number)

    def review_comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        """Stored review comments of a PR, with their resolved anchors."""
        return self._select(self._review_comments, repo_key=_key(owner, repo), number=number)

    def issue_comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        """Issue comments of a PR, oldest first."""
        return self._select(self._issue_comments, repo_key=_key(owner, repo), number=number)

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        """Reactions on an issue comment."""
        return self._select(self._reactions, comment_id=comment_id)

    def check_runs(self, owner: str, repo: str) -> list[dict[str, Any]]:
        """Check runs created in a repository, with their latest fields."""
        return self._select(self._check_runs, repo_key=_key(owner, repo))

    # -- serving -----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        authorization: str | None,
        raw: bytes,
        base: str,
        injected: str | None = None,
    ) -> _Reply:
        """Answer one request: match, authenticate, inject faults, validate, apply, check.

        `injected` is a chaos fault kind drawn for this request ("502" or "applied_502").
        """
        body: Any = None
        parsed = True
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body, parsed = raw.decode("utf-8", "replace"), False
        with self._lock:
            self._fault_used = None
            status, payload, headers = self._answer(
                method, path, query, authorization, raw if parsed else None, body, base, injected
            )
            used = self._fault_used
            kind = "slow" if injected == "slow" else None
            if used is not None:
                kind = f"applied_{used.status}" if used.apply else str(used.status)
            self._requests.append(
                GitHubRequest(method, path, dict(query), body, status, kind, time.monotonic())
            )
        return status, payload, headers

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        authorization: str | None,
        raw: bytes | None,
        body: Any,
        base: str,
        injected: str | None = None,
    ) -> _Reply:
        """`raw` is None when the body did not parse as JSON."""
        matched = self.spec.match(method, path)
        if matched is None:  # outside the subset: a route GitHub lacks, or one to add to the fake
            return self._refuse(method, path, "route", 404, _error(404, "Not Found"))
        op, raw_params = matched
        scheme, _, credentials = (authorization or "").partition(" ")
        if not credentials:
            return self._refuse(
                method, path, "auth", 401, _error(401, "Requires authentication", op.docs)
            )
        if op.template.startswith("/app/") and (
            scheme.lower() != "bearer" or credentials.count(".") != 2
        ):
            message = "A JSON web token could not be decoded"
            return self._refuse(method, path, "auth", 401, _error(401, message, op.docs))
        fault = next(
            (f for f in self._faults if f.method == method and f.pattern.search(path)), None
        )
        if fault is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
        elif injected in ("502", "applied_502"):
            fault = _Fault(method, _ANY_PATH, 502, 1, injected == "applied_502", None)
        self._fault_used = fault
        try:
            if fault is not None and not fault.apply:
                return self._fault_reply(fault)
            call = self._call(op, raw_params, query, raw, body, base, path)
            reply = _HANDLERS[op.operation_id](self, call)
        except _HttpError as refused:
            if refused.kind is not None:
                self._refused.append(
                    RefusedRequest(method, path, refused.kind, refused.status, refused.errors)
                )
            reply = (refused.status, refused.payload, {})
        if fault is not None:
            return self._fault_reply(fault)
        status, payload, _ = reply
        if self.check_responses and status in op.responses and 200 <= status < 300:
            for problem in _schema_errors(op.responses[status], payload):
                self._response_errors.append(f"{method} {path} -> {status}: {problem}")
        return reply

    def _refuse(
        self, method: str, path: str, kind: str, status: int, payload: dict[str, Any]
    ) -> _Reply:
        self._refused.append(RefusedRequest(method, path, kind, status, (payload["message"],)))
        return status, payload, {}

    def _fault_reply(self, fault: _Fault) -> _Reply:
        headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
        if fault.status in (403, 429):
            message = SECONDARY_RATE_LIMIT
        elif fault.status >= 500:
            message = "Server Error"
        else:
            message = HTTPStatus(fault.status).phrase
        return fault.status, _error(fault.status, message), headers

    def _call(
        self,
        op: Operation,
        raw_params: Mapping[str, str],
        query: Mapping[str, str],
        raw: bytes | None,
        body: Any,
        base: str,
        path: str,
    ) -> _Call:
        params: dict[str, Any] = {}
        for name, value in raw_params.items():
            try:
                params[name] = _coerce(value, op.path_params.get(name, {}))
            except ValueError as bad:
                raise _HttpError(
                    404, _error(404, "Not Found", op.docs), "parameter", str(bad)
                ) from None
        problems = []
        for name, (required, schema) in op.query_params.items():
            if name not in query:
                if required:
                    problems.append(f"{name}: is a required query parameter")
                continue
            try:
                value = _coerce(query[name], schema)
            except ValueError as bad:
                problems.append(f"{name}: {bad}")
                continue
            problems += [
                f"{name}: {e.message}" for e in Draft4Validator(dict(schema)).iter_errors(value)
            ]
        if problems:
            payload = _error(422, "Invalid request.", op.docs, errors=problems)
            raise _HttpError(422, payload, "parameter", *problems)
        if raw is None:
            raise _HttpError(400, _error(400, "Problems parsing JSON", op.docs), "json")
        if op.body is not None and (raw or op.body_required):
            problems = _schema_errors(op.body, {} if body is None else body)
        if problems:
            payload = _error(422, "Invalid request.", op.docs, errors=problems)
            raise _HttpError(422, payload, "schema", *problems)
        return _Call(base, path, op, params, dict(query), body)

    # -- lookups used by handlers ------------------------------------------------------------

    def _repo(self, call: _Call) -> _Repo:
        repo = self._repos.get(call.repo_key)
        if repo is None:
            raise _HttpError(404, _error(404, "Not Found", call.op.docs))
        return repo

    def _pull(self, call: _Call) -> _Pull:
        self._repo(call)
        number = int(call.params.get("pull_number", call.params.get("issue_number", 0)))
        pull = self._pulls.get((*call.repo_key, number))
        if pull is None:
            raise _HttpError(404, _error(404, "Not Found", call.op.docs))
        return pull

    def _known_commit(self, call: _Call, sha: str) -> _Commit | None:
        if (*call.repo_key, sha) in self._lost:
            return None
        return self._commits.get((*call.repo_key, sha))

    def _store_issue_comment(
        self, repo_key: tuple[str, str], number: int, body: str, user: str
    ) -> dict[str, Any]:
        now = _iso(self.clock())
        record = {
            "id": self._new_id(),
            "repo_key": repo_key,
            "number": number,
            "body": body,
            "user": user,
            "created_at": now,
            "updated_at": now,
        }
        self._issue_comments.append(record)
        return record

    def _association(self, repo: _Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        granted = self._permissions.get((*_key(repo.owner, repo.name), login.lower()), "none")
        return "COLLABORATOR" if granted != "none" else "NONE"


# --- rendering: every URL carries the fake's own address ----------------------------------------

# name=suffix after the repository's API URL, as GitHub lists them
_REPO_URLS = dict(
    pair.split("=", 1)
    for pair in """
    archive_url=/{archive_format}{/ref} assignees_url=/assignees{/user}
    blobs_url=/git/blobs{/sha} branches_url=/branches{/branch}
    collaborators_url=/collaborators{/collaborator} comments_url=/comments{/number}
    commits_url=/commits{/sha} compare_url=/compare/{base}...{head}
    contents_url=/contents/{+path} contributors_url=/contributors deployments_url=/deployments
    downloads_url=/downloads events_url=/events forks_url=/forks
    git_commits_url=/git/commits{/sha} git_refs_url=/git/refs{/sha} git_tags_url=/git/tags{/sha}
    hooks_url=/hooks issue_comment_url=/issues/comments{/number}
    issue_events_url=/issues/events{/number} issues_url=/issues{/number} keys_url=/keys{/key_id}
    labels_url=/labels{/name} languages_url=/languages merges_url=/merges
    milestones_url=/milestones{/number}
    notifications_url=/notifications{?since,all,participating} pulls_url=/pulls{/number}
    releases_url=/releases{/id} stargazers_url=/stargazers statuses_url=/statuses/{sha}
    subscribers_url=/subscribers subscription_url=/subscription tags_url=/tags teams_url=/teams
    trees_url=/git/trees{/sha}
""".split()
)


def _user(base: str, login: str) -> dict[str, Any]:
    api = f"{base}/users/{quote(login)}"
    uid = zlib.crc32(login.lower().encode())
    return {
        "login": login,
        "id": uid,
        "node_id": f"U_{uid:x}",
        "avatar_url": f"{base}/avatars/u/{uid}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{quote(login)}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "Bot" if login.endswith("[bot]") else "User",
        "site_admin": False,
        "user_view_type": "public",
    }


_REPO_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("description", "mirror_url", "homepage", "language", "license"), None),
    **dict.fromkeys(
        "size stargazers_count watchers_count watchers forks_count forks open_issues_count "
        "open_issues network_count subscribers_count".split(),
        0,
    ),
    **dict.fromkeys(
        "private has_projects has_wiki has_pages has_downloads has_discussions archived "
        "disabled".split(),
        False,
    ),
    "has_issues": True,
    "visibility": "public",
    "topics": [],
}


def _repository(base: str, repo: _Repo, owner: str | None = None) -> dict[str, Any]:
    owner = owner or repo.owner  # another owner: the fork a PR's head comes from
    api, web = f"{base}/repos/{owner}/{repo.name}", f"{base}/{owner}/{repo.name}"
    created = _iso(repo.created_at)
    return {
        "id": repo.id if owner == repo.owner else zlib.crc32(f"{owner}/{repo.name}".encode()),
        "node_id": f"R_{repo.id:x}",
        "name": repo.name,
        "full_name": f"{owner}/{repo.name}",
        "owner": _user(base, owner),
        "html_url": web,
        "fork": owner != repo.owner,
        "url": api,
        **{name: api + suffix for name, suffix in _REPO_URLS.items()},
        "git_url": f"{web}.git",
        "ssh_url": f"git@{urlsplit(base).hostname}:{owner}/{repo.name}.git",
        "clone_url": f"{web}.git",
        "svn_url": web,
        **copy.deepcopy(_REPO_CONSTANTS),
        "default_branch": repo.default_branch,
        **dict.fromkeys(("pushed_at", "created_at", "updated_at"), created),
    }


def _blob_sha(data: bytes) -> str:
    """Git's blob SHA of `data` (what the contents API and the PR's file list report)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _diff_entry(
    base: str, repo: _Repo, item: Mapping[str, Any], sha: str, data: bytes | None = None
) -> dict[str, Any]:
    """A pulls/list-files (or compare) item; `sha` is the blob of `data`, the file at the head."""
    name = quote(item["filename"])
    web = f"{base}/{repo.owner}/{repo.name}"
    digest = hashlib.sha1(json.dumps(item, sort_keys=True).encode(), usedforsecurity=False)
    return {
        "sha": _blob_sha(data) if data is not None else digest.hexdigest(),
        **item,
        "blob_url": f"{web}/blob/{sha}/{name}",
        "raw_url": f"{web}/raw/{sha}/{name}",
        "contents_url": f"{base}/repos/{repo.owner}/{repo.name}/contents/{name}?ref={sha}",
    }


def _commit_json(base: str, repo: _Repo, commit: _Commit) -> dict[str, Any]:
    api, web = f"{base}/repos/{repo.owner}/{repo.name}", f"{base}/{repo.owner}/{repo.name}"
    tree = hashlib.sha1(f"tree {commit.sha}".encode(), usedforsecurity=False).hexdigest()
    person = {"name": commit.author, "email": f"{commit.author}@users.noreply.invalid"}
    stamp = _iso(repo.created_at)
    return {
        "url": f"{api}/commits/{commit.sha}",
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:12]}",
        "html_url": f"{web}/commit/{commit.sha}",
        "comments_url": f"{api}/commits/{commit.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{commit.sha}",
            "author": {**person, "date": stamp},
            "committer": {**person, "date": stamp},
            "message": f"Commit {commit.sha[:7]}",
            "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": _user(base, commit.author),
        "committer": _user(base, commit.author),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
            for p in commit.parents
        ],
    }


def _pull_json(state: FakeGitHub, base: str, repo: _Repo, pull: _Pull) -> dict[str, Any]:
    api, web = f"{base}/repos/{pull.owner}/{pull.repo}", f"{base}/{pull.owner}/{pull.repo}"
    url, html = f"{api}/pulls/{pull.number}", f"{web}/pull/{pull.number}"
    key = _key(pull.owner, pull.repo)

    def branch(owner: str, ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": _user(base, owner),
            "repo": _repository(base, repo, owner),
        }

    links = {
        "self": url,
        "html": html,
        "issue": f"{api}/issues/{pull.number}",
        "comments": f"{api}/issues/{pull.number}/comments",
        "review_comments": f"{url}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{url}/commits",
        "statuses": f"{api}/statuses/{pull.head_sha}",
    }
    return {
        "url": url,
        "id": pull.id,
        "node_id": f"PR_{pull.id:x}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": links["issue"],
        "commits_url": links["commits"],
        "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"],
        "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "number": pull.number,
        "state": pull.state,
        "locked": False,
        "title": pull.title,
        "user": _user(base, pull.user),
        "body": pull.body,
        "labels": [
            {
                "id": zlib.crc32(name.encode()),
                "node_id": f"LA_{zlib.crc32(name.encode()):x}",
                "url": f"{api}/labels/{quote(name)}",
                "name": name,
                "description": None,
                "color": "ededed",
                "default": False,
            }
            for name in pull.labels
        ],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": _iso(pull.created_at),
        "updated_at": _iso(pull.updated_at),
        "closed_at": _iso(pull.updated_at) if pull.state == "closed" else None,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": branch(pull.head_owner, pull.head_ref, pull.head_sha),
        "base": branch(pull.owner, pull.base_ref, pull.base_sha),
        "_links": {name: {"href": href} for name, href in links.items()},
        "author_association": state._association(repo, pull.user),
        "auto_merge": None,
        "draft": pull.draft,
        "merged": False,
        "mergeable": None,
        "rebaseable": None,
        "mergeable_state": "unknown",
        "merged_by": None,
        "comments": sum(
            c["repo_key"] == key and c["number"] == pull.number for c in state._issue_comments
        ),
        "review_comments": sum(
            c["repo_key"] == key and c["number"] == pull.number for c in state._review_comments
        ),
        "maintainer_can_modify": False,
        "commits": len(pull.commits),
        "additions": sum(int(f.get("additions", 0)) for f in pull.files),
        "deletions": sum(int(f.get("deletions", 0)) for f in pull.files),
        "changed_files": len(pull.files),
    }


def _review_json(base: str, repo: _Repo, review: Mapping[str, Any]) -> dict[str, Any]:
    url = f"{base}/repos/{repo.owner}/{repo.name}/pulls/{review['number']}"
    html = f"{base}/{repo.owner}/{repo.name}/pull/{review['number']}"
    out = {
        "id": review["id"],
        "node_id": f"PRR_{review['id']:x}",
        "user": _user(base, review["user"]),
        "body": review["body"],
        "state": review["state"],
        "commit_id": review["commit_id"],
        "html_url": f"{html}#pullrequestreview-{review['id']}",
        "pull_request_url": url,
        "author_association": "NONE",
        "_links": {
            "html": {"href": f"{html}#pullrequestreview-{review['id']}"},
            "pull_request": {"href": url},
        },
    }
    if review["submitted_at"] is not None:
        out["submitted_at"] = review["submitted_at"]
    return out


def _review_comment_json(base: str, repo: _Repo, comment: Mapping[str, Any]) -> dict[str, Any]:
    api = f"{base}/repos/{repo.owner}/{repo.name}"
    pull_url = f"{api}/pulls/{comment['number']}"
    html = f"{base}/{repo.owner}/{repo.name}/pull/{comment['number']}#discussion_r{comment['id']}"
    url = f"{api}/pulls/comments/{comment['id']}"
    return {
        "url": url,
        "id": comment["id"],
        "node_id": f"PRRC_{comment['id']:x}",
        "pull_request_review_id": comment["pull_request_review_id"],
        "diff_hunk": comment["diff_hunk"],
        "path": comment["path"],
        "commit_id": comment["commit_id"],
        "original_commit_id": comment["commit_id"],
        "user": _user(base, comment["user"]),
        "body": comment["body"],
        "created_at": comment["created_at"],
        "updated_at": comment["created_at"],
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": "NONE",
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "pull_request": {"href": pull_url},
        },
        "start_line": comment["start_line"],
        "original_start_line": comment["start_line"],
        "start_side": comment["start_side"],
        "subject_type": comment["subject_type"],
        **{  # optional in the schema but not nullable: a file comment has none of them
            name: comment[source]
            for name, source in (
                ("line", "line"),
                ("original_line", "line"),
                ("side", "side"),
                ("position", "position"),
                ("original_position", "position"),
                ("in_reply_to_id", "in_reply_to_id"),
            )
            if comment.get(source) is not None
        },
    }


def _issue_comment_json(
    state: FakeGitHub, base: str, repo: _Repo, comment: Mapping[str, Any]
) -> dict[str, Any]:
    api = f"{base}/repos/{repo.owner}/{repo.name}"
    url = f"{api}/issues/comments/{comment['id']}"
    html = f"{base}/{repo.owner}/{repo.name}/pull/{comment['number']}"
    mine = [r["content"] for r in state._reactions if r["comment_id"] == comment["id"]]
    return {
        "id": comment["id"],
        "node_id": f"IC_{comment['id']:x}",
        "url": url,
        "html_url": f"{html}#issuecomment-{comment['id']}",
        "body": comment["body"],
        "user": _user(base, comment["user"]),
        "created_at": comment["created_at"],
        "updated_at": comment["updated_at"],
        "issue_url": f"{api}/issues/{comment['number']}",
        "author_association": state._association(repo, comment["user"]),
        "performed_via_github_app": None,
        "reactions": {
            "url": f"{url}/reactions",
            "total_count": len(mine),
            **{content: mine.count(content) for content in _REACTIONS},
        },
    }


def _content_json(base: str, repo: _Repo, ref: str, path: str, data: bytes) -> dict[str, Any]:
    api, web = f"{base}/repos/{repo.owner}/{repo.name}", f"{base}/{repo.owner}/{repo.name}"
    sha = _blob_sha(data)
    url = f"{api}/contents/{quote(path)}?ref={quote(ref, safe='')}"
    encoded = base64.b64encode(data).decode() if len(data) <= MAX_CONTENT_BYTES else ""
    links = {
        "self": url,
        "git": f"{api}/git/blobs/{sha}",
        "html": f"{web}/blob/{quote(ref, safe='')}/{quote(path)}",
    }
    return {
        "type": "file",
        "encoding": "base64" if len(data) <= MAX_CONTENT_BYTES else "none",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        # GitHub wraps base64 at 60 columns (Ruby's encode64)
        "content": "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60)),
        "sha": sha,
        "url": url,
        "git_url": links["git"],
        "html_url": links["html"],
        "download_url": f"{web}/raw/{quote(ref, safe='')}/{quote(path)}",
        "_links": links,
    }


def _check_run_json(base: str, repo: _Repo, run: Mapping[str, Any]) -> dict[str, Any]:
    url = f"{base}/repos/{repo.owner}/{repo.name}/check-runs/{run['id']}"
    output = run.get("output") or {}
    return {
        "id": run["id"],
        "node_id": f"CR_{run['id']:x}",
        "head_sha": run["head_sha"],
        "external_id": run.get("external_id", ""),
        "url": url,
        "html_url": f"{base}/{repo.owner}/{repo.name}/runs/{run['id']}",
        "details_url": run.get("details_url"),
        "status": run["status"],
        "conclusion": run.get("conclusion"),
        "started_at": run.get("started_at"),
        "completed_at": run.get("completed_at"),
        "output": {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": len(output.get("annotations", [])),
            "annotations_url": f"{url}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": run["id"] + 1},
        "app": None,
        "pull_requests": [],
    }


def _page(call: _Call, items: Sequence[Any], *, default: int = 30, limit: int = 100) -> _Reply:
    """One page of `items` with GitHub's `Link` header, pointing at the fake itself."""
    per_page = call.int_query("per_page", default)
    per_page = min(per_page if per_page > 0 else default, limit)
    page = max(call.int_query("page", 1), 1)
    last = max(1, -(-len(items) // per_page))

    def link(number: int, rel: str) -> str:
        query = urlencode({**call.query, "per_page": per_page, "page": number})
        return f'<{call.base}{quote(call.path)}?{query}>; rel="{rel}"'

    links = [link(page - 1, "prev")] if page > 1 else []
    links += [link(page + 1, "next"), link(last, "last")] if page < last else []
    links += [link(1, "first")] if page > 1 else []
    chunk = list(items[(page - 1) * per_page : page * per_page])
    return 200, chunk, {"link": ", ".join(links)} if links else {}


def _patch_of(files: list[dict[str, Any]] | None, path: str) -> str | None:
    return next((f.get("patch") for f in files or () if f["filename"] == path), None)


# --- handlers, one per operationId --------------------------------------------------------------


def _get_repo(state: FakeGitHub, call: _Call) -> _Reply:
    return 200, _repository(call.base, state._repo(call)), {}


def _get_pull(state: FakeGitHub, call: _Call) -> _Reply:
    return 200, _pull_json(state, call.base, state._repo(call), state._pull(call)), {}


def _list_files(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    files = [
        _diff_entry(
            call.base,
            repo,
            f,
            pull.head_sha,
            state._contents.get((*call.repo_key, pull.head_sha, f["filename"])),
        )
        for f in pull.files[:MAX_PR_FILES]
    ]
    return _page(call, files)


def _list_commits(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    commits = [
        _commit_json(call.base, repo, state._commits[(*call.repo_key, s)]) for s in pull.commits
    ]
    return _page(call, commits, limit=250)


def _get_commit(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    commit = state._known_commit(call, call.params["ref"])
    if commit is None:
        message = f"No commit found for SHA: {call.params['ref']}"
        raise _HttpError(422, _error(422, message, call.op.docs), "state")
    return 200, _commit_json(call.base, repo, commit), {}


def _compare(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    base_sha, dots, head_sha = str(call.params["basehead"]).partition("...")
    ends = [state._known_commit(call, base_sha), state._known_commit(call, head_sha)]
    found = state._compares.get((*call.repo_key, base_sha, head_sha))
    if found is None:
        pull = next(
            (
                p
                for k, p in state._pulls.items()
                if k[:2] == call.repo_key and (p.base_sha, p.head_sha) == (base_sha, head_sha)
            ),
            None,
        )
        found = _Compare(pull.files, list(pull.commits)) if pull else None
    if not dots or found is None or ends[0] is None or ends[1] is None:
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    status, commits, headers = _page(
        call,
        [_commit_json(call.base, repo, state._commits[(*call.repo_key, s)]) for s in found.commits],
        default=250,
        limit=1000,
    )
    web = f"{call.base}/{repo.owner}/{repo.name}/compare/{call.params['basehead']}"
    base_json = _commit_json(call.base, repo, ends[0])
    merge_base = base_json
    if found.merge_base is not None and found.merge_base != base_sha:
        merge_base = _commit_json(
            call.base, repo, state._commits[(*call.repo_key, found.merge_base)]
        )
    payload = {
        "url": f"{call.base}{quote(call.path)}",
        "html_url": web,
        "permalink_url": web,
        "diff_url": f"{web}.diff",
        "patch_url": f"{web}.patch",
        "base_commit": base_json,
        "merge_base_commit": merge_base,
        "status": "ahead" if merge_base is base_json else "diverged",
        "ahead_by": len(found.commits),
        "behind_by": 0 if merge_base is base_json else 1,
        "total_commits": len(found.commits),
        "commits": commits,
    }
    if call.int_query("page", 1) <= 1:
        payload["files"] = [
            _diff_entry(
                call.base,
                repo,
                f,
                head_sha,
                state._contents.get((*call.repo_key, head_sha, f["filename"])),
            )
            for f in found.files[:MAX_COMPARE_FILES]
        ]
    return status, payload, headers


def _get_content(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    ref = call.query.get("ref") or repo.default_branch
    path = str(call.params["path"]).strip("/")
    if (*call.repo_key, ref) in state._lost:
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    data = state._contents.get((*call.repo_key, ref, path))
    if data is None:
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    return 200, _content_json(call.base, repo, ref, path, data), {}


def _list_reviews(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    reviews = [
        _review_json(call.base, repo, r)
        for r in state._reviews
        if r["repo_key"] == call.repo_key and r["number"] == pull.number
    ]
    return _page(call, reviews)


def _check_body(body: Any, resource: str, docs: str) -> None:
    if isinstance(body, str) and len(body) > MAX_BODY:
        raise _too_long(resource, docs)


def _anchors(
    state: FakeGitHub, call: _Call, pull: _Pull, commit_id: str, comments: Sequence[Any]
) -> list[Anchor]:
    """Resolve every comment against the PR's files at `commit_id`; one failure refuses all."""
    files_at = pull.files_at.get(commit_id)
    if files_at is None or (*call.repo_key, commit_id) in state._lost:
        raise _unprocessable("review", call.op.docs, COMMIT_NOT_IN_PR)
    files = {f["filename"]: f for f in files_at}
    anchors = []
    for comment in comments:
        _check_body(comment.get("body"), "PullRequestReviewComment", call.op.docs)
        placed = resolve_comment(comment, files)
        if isinstance(placed, list):  # GitHub reports the first comment it cannot place
            raise _unprocessable("review", call.op.docs, _sentence(placed))
        anchors.append(placed)
    return anchors


def _store_comments(
    state: FakeGitHub,
    call: _Call,
    pull: _Pull,
    review_id: int,
    commit_id: str,
    placed: Sequence[tuple[Anchor, str]],
) -> list[dict[str, Any]]:
    stored = []
    for anchor, body in placed:
        record = {
            "id": state._new_id(),
            "repo_key": call.repo_key,
            "number": pull.number,
            "pull_request_review_id": review_id,
            "user": state.bot_login,
            "body": body,
            "commit_id": commit_id,
            "created_at": _iso(state.clock()),
            **asdict(anchor),
        }
        state._review_comments.append(record)
        stored.append(record)
    return stored


def _new_review(
    state: FakeGitHub, call: _Call, pull: _Pull, body: str, review_state: str, commit_id: str
) -> dict[str, Any]:
    review = {
        "id": state._new_id(),
        "repo_key": call.repo_key,
        "number": pull.number,
        "user": state.bot_login,
        "body": body,
        "state": review_state,
        "commit_id": commit_id,
        "submitted_at": None if review_state == "PENDING" else _iso(state.clock()),
    }
    state._reviews.append(review)
    return review


def _create_review(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull, body = state._repo(call), state._pull(call), call.body or {}
    docs = call.op.docs
    event = body.get("event")
    review_state = _REVIEW_STATES.get(str(event), "PENDING")  # no event: a pending review
    commit_id = body.get("commit_id") or pull.head_sha
    comments = body.get("comments") or []
    _check_body(body.get("body"), "PullRequestReview", docs)
    if review_state == "PENDING" and any(
        r["state"] == "PENDING" and r["user"] == state.bot_login and r["number"] == pull.number
        for r in state._reviews
        if r["repo_key"] == call.repo_key
    ):
        raise _unprocessable(
            "review", docs, "User can only have one pending review per pull request"
        )
    if event in ("APPROVE", "REQUEST_CHANGES") and pull.user.lower() == state.bot_login.lower():
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise _unprocessable("review", docs, f"Can not {verb} your own pull request")
    if event in ("REQUEST_CHANGES", "COMMENT") and not body.get("body") and not comments:
        raise _unprocessable("review", docs, "Body can't be blank")  # the docs: body is required
    anchors = _anchors(state, call, pull, commit_id, comments)
    review = _new_review(state, call, pull, body.get("body") or "", review_state, commit_id)
    _store_comments(
        state,
        call,
        pull,
        review["id"],
        commit_id,
        [(a, c["body"]) for a, c in zip(anchors, comments, strict=True)],
    )
    return 200, _review_json(call.base, repo, review), {}


def _list_review_comments(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    comments = [
        _review_comment_json(call.base, repo, c)
        for c in state._review_comments
        if c["repo_key"] == call.repo_key and c["number"] == pull.number
    ]
    if call.query.get("direction") == "desc":
        comments.reverse()
    return _page(call, comments)


def _create_review_comment(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull, body = state._repo(call), state._pull(call), call.body
    _check_body(body.get("body"), "PullRequestReviewComment", call.op.docs)
    parent_id = body.get("in_reply_to")
    if parent_id is not None:  # a reply takes its parent's place; other fields are ignored
        parent = next((c for c in state._review_comments if c["id"] == parent_id), None)
        if parent is None or parent["repo_key"] != call.repo_key:
            raise _HttpError(404, _error(404, "Not Found", call.op.docs))
        anchor = Anchor(**{f.name: parent[f.name] for f in fields(Anchor)})
        commit_id = parent["commit_id"]
    elif "commit_id" not in body or "path" not in body:
        raise _unprocessable("schema", call.op.docs, "commit_id and path are required")
    elif body.get("subject_type") == "file":
        commit_id = body["commit_id"]
        _anchors(state, call, pull, commit_id, [])  # the commit must belong to the PR
        if body["path"] not in {f["filename"] for f in pull.files_at[commit_id]}:
            raise _unprocessable("review", call.op.docs, PATH_UNRESOLVED)
        anchor = Anchor(body["path"], None, None, None, None, None, "", "file")
    else:
        commit_id = body["commit_id"]
        anchor = _anchors(state, call, pull, commit_id, [body])[0]
    review = _new_review(state, call, pull, "", "COMMENTED", commit_id)
    placed = [(anchor, body["body"])]
    record = _store_comments(state, call, pull, review["id"], commit_id, placed)[0]
    if parent_id is not None:
        record["in_reply_to_id"] = parent_id
    payload = _review_comment_json(call.base, repo, record)
    return 201, payload, {"location": payload["url"]}


def _create_reply(state: FakeGitHub, call: _Call) -> _Reply:
    """A reply in a thread: GitHub takes only top-level comments of the same PR as parents."""
    repo, pull, body = state._repo(call), state._pull(call), call.body
    _check_body(body.get("body"), "PullRequestReviewComment", call.op.docs)
    parent = next(
        (
            c
            for c in state._review_comments
            if c["id"] == call.params["comment_id"]
            and c["repo_key"] == call.repo_key
            and c["number"] == pull.number
        ),
        None,
    )
    if parent is None or parent.get("in_reply_to_id") is not None:
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    anchor = Anchor(**{f.name: parent[f.name] for f in fields(Anchor)})
    review = _new_review(state, call, pull, "", "COMMENTED", parent["commit_id"])
    placed = [(anchor, body["body"])]
    record = _store_comments(state, call, pull, review["id"], parent["commit_id"], placed)[0]
    record["in_reply_to_id"] = parent["id"]
    payload = _review_comment_json(call.base, repo, record)
    return 201, payload, {"location": payload["url"]}


def _list_review_comment_reactions(state: FakeGitHub, call: _Call) -> _Reply:
    state._repo(call)
    comment_id = call.params["comment_id"]
    if not any(
        c["id"] == comment_id and c["repo_key"] == call.repo_key for c in state._review_comments
    ):
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    wanted = call.query.get("content")
    items = [
        _reaction_json(call.base, r)
        for r in state._reactions
        if r["comment_id"] == comment_id and (wanted is None or r["content"] == wanted)
    ]
    return _page(call, items)


def _reaction_json(base: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "node_id": f"REA_{record['id']:x}",
        "user": _user(base, record["user"]),
        "content": record["content"],
        "created_at": record["created_at"],
    }


def _list_issue_comments(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    since = call.query.get("since", "")
    comments = [
        _issue_comment_json(state, call.base, repo, c)
        for c in state._issue_comments
        if c["repo_key"] == call.repo_key
        and c["number"] == pull.number
        and c["updated_at"] >= since
    ]
    return _page(call, comments)


def _list_repo_issue_comments(state: FakeGitHub, call: _Call) -> _Reply:
    repo, since = state._repo(call), call.query.get("since", "")
    comments = [
        _issue_comment_json(state, call.base, repo, c)
        for c in state._issue_comments
        if c["repo_key"] == call.repo_key and c["updated_at"] >= since
    ]
    return _page(call, comments)


def _create_issue_comment(state: FakeGitHub, call: _Call) -> _Reply:
    repo, pull = state._repo(call), state._pull(call)
    _check_body(call.body["body"], "IssueComment", call.op.docs)
    record = state._store_issue_comment(
        call.repo_key, pull.number, call.body["body"], state.bot_login
    )
    payload = _issue_comment_json(state, call.base, repo, record)
    return 201, payload, {"location": payload["url"]}


def _issue_comment(state: FakeGitHub, call: _Call) -> dict[str, Any]:
    state._repo(call)
    for comment in state._issue_comments:
        if comment["id"] == call.params["comment_id"] and comment["repo_key"] == call.repo_key:
            return comment
    raise _HttpError(404, _error(404, "Not Found", call.op.docs))


def _update_issue_comment(state: FakeGitHub, call: _Call) -> _Reply:
    comment = _issue_comment(state, call)
    _check_body(call.body["body"], "IssueComment", call.op.docs)
    comment["body"], comment["updated_at"] = call.body["body"], _iso(state.clock())
    return 200, _issue_comment_json(state, call.base, state._repo(call), comment), {}


def _create_reaction(state: FakeGitHub, call: _Call) -> _Reply:
    comment = _issue_comment(state, call)
    content, user = call.body["content"], state.bot_login
    for reaction in state._reactions:
        if (reaction["comment_id"], reaction["content"], reaction["user"]) == (
            comment["id"],
            content,
            user,
        ):
            status, record = 200, reaction
            break
    else:
        record = {
            "id": state._new_id(),
            "comment_id": comment["id"],
            "content": content,
            "user": user,
            "created_at": _iso(state.clock()),
        }
        state._reactions.append(record)
        status = 201
    payload = {
        "id": record["id"],
        "node_id": f"REA_{record['id']:x}",
        "user": _user(call.base, user),
        "content": content,
        "created_at": record["created_at"],
    }
    return status, payload, {}


_RUN_FIELDS = (
    "name",
    "details_url",
    "external_id",
    "status",
    "started_at",
    "conclusion",
    "completed_at",
    "output",
    "actions",
)


def _apply_run(state: FakeGitHub, run: dict[str, Any], body: Mapping[str, Any]) -> None:
    run.update({k: copy.deepcopy(body[k]) for k in _RUN_FIELDS if k in body})
    if body.get("conclusion") is not None:  # a conclusion completes the run
        run["status"] = "completed"
    if run["status"] == "completed" and not run.get("completed_at"):
        run["completed_at"] = _iso(state.clock())


def _create_check_run(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    if state._known_commit(call, call.body["head_sha"]) is None:
        message = f"No commit found for SHA: {call.body['head_sha']}"
        raise _HttpError(422, _error(422, message, call.op.docs), "state")
    run: dict[str, Any] = {
        "id": state._new_id(),
        "repo_key": call.repo_key,
        "head_sha": call.body["head_sha"],
        "status": "queued",
    }
    _apply_run(state, run, call.body)
    state._check_runs.append(run)
    return 201, _check_run_json(call.base, repo, run), {}


def _update_check_run(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    for run in state._check_runs:
        if run["id"] == call.params["check_run_id"] and run["repo_key"] == call.repo_key:
            _apply_run(state, run, call.body)
            return 200, _check_run_json(call.base, repo, run), {}
    raise _HttpError(404, _error(404, "Not Found", call.op.docs))


def _get_permission(state: FakeGitHub, call: _Call) -> _Reply:
    state._repo(call)
    login = str(call.params["username"])
    role = state._permissions.get((*call.repo_key, login.lower()), "none")
    user = {**_user(call.base, login), "role_name": role}
    return (
        200,
        {"permission": _LEGACY_PERMISSION.get(role, role), "role_name": role, "user": user},
        {},
    )


_APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}


def _get_installation(state: FakeGitHub, call: _Call) -> _Reply:
    repo = state._repo(call)
    stamp, number = _iso(repo.created_at), state.installation_id
    payload = {
        "id": number,
        "app_id": state.app_id,
        "app_slug": state.bot_login.removesuffix("[bot]"),
        "client_id": f"Iv1.{state.app_id:016x}",
        "target_id": zlib.crc32(repo.owner.lower().encode()),
        "target_type": "Organization",
        "account": _user(call.base, repo.owner),
        "single_file_name": None,
        "repository_selection": "selected",
        "access_tokens_url": f"{call.base}/app/installations/{number}/access_tokens",
        "repositories_url": f"{call.base}/installation/repositories",
        "html_url": f"{call.base}/organizations/{repo.owner}/settings/installations/{number}",
        "events": ["issue_comment", "pull_request"],
        "permissions": _APP_PERMISSIONS,
        "created_at": stamp,
        "updated_at": stamp,
        "suspended_by": None,
        "suspended_at": None,
    }
    return 200, payload, {}


def _create_token(state: FakeGitHub, call: _Call) -> _Reply:
    if call.params["installation_id"] != state.installation_id:
        raise _HttpError(404, _error(404, "Not Found", call.op.docs))
    token = f"ghs_fake{len(state._tokens) + 1:032d}"
    state._tokens.append(token)
    expires = _iso(state.clock() + dt.timedelta(hours=1))
    payload = {
        "token": token,
        "expires_at": expires,
        "permissions": _APP_PERMISSIONS,
        "repository_selection": "selected",
    }
    return 201, payload, {}


_HANDLERS: dict[str, Callable[[FakeGitHub, _Call], _Reply]] = {
    "repos/get": _get_repo,
    "pulls/get": _get_pull,
    "pulls/list-files": _list_files,
    "pulls/list-commits": _list_commits,
    "repos/get-commit": _get_commit,
    "repos/compare-commits-with-basehead": _compare,
    "repos/get-content": _get_content,
    "pulls/list-reviews": _list_reviews,
    "pulls/create-review": _create_review,
    "pulls/list-review-comments": _list_review_comments,
    "pulls/create-review-comment": _create_review_comment,
    "pulls/create-reply-for-review-comment": _create_reply,
    "reactions/list-for-pull-request-review-comment": _list_review_comment_reactions,
    "issues/list-comments": _list_issue_comments,
    "issues/list-comments-for-repo": _list_repo_issue_comments,
    "issues/create-comment": _create_issue_comment,
    "issues/update-comment": _update_issue_comment,
    "reactions/create-for-issue-comment": _create_reaction,
    "checks/create": _create_check_run,
    "checks/update": _update_check_run,
    "repos/get-collaborator-permission-level": _get_permission,
    "apps/get-repo-installation": _get_installation,
    "apps/create-installation-access-token": _create_token,
}


# --- the ASGI app -------------------------------------------------------------------------------


def make_github_app(state: FakeGitHub, prefix: str = "") -> FastAPI:
    """An ASGI app answering GitHub REST requests from `state` (under `prefix`, as on GHES)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    prefix = prefix.rstrip("/")
    # PyGithub posts GraphQL to the REST base with a trailing `/v3` dropped (GHES: /api/graphql).
    graphql_path = prefix.removesuffix("/v3") + "/graphql"

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def github(request: Request) -> Response:
        path = request.url.path
        base = str(request.base_url).rstrip("/") + prefix
        headers: dict[str, str] = {}
        if request.method == "POST" and path == graphql_path:
            status, payload, headers = state.graphql(
                request.headers.get("authorization"), await request.body()
            )
        elif prefix and not path.startswith(prefix + "/"):
            status, payload = 404, _error(404, "Not Found")
        else:
            query, raw = dict(request.query_params), await request.body()
            drawn = state.draw(request.method, path[len(prefix) :], query, raw)
            if drawn is not None and drawn.kind == "slow":
                await asyncio.sleep(state.delay(drawn))  # off the state's lock: others go on
            status, payload, headers = state.handle(
                request.method,
                path[len(prefix) :],
                query,
                request.headers.get("authorization"),
                raw,
                base,
                None if drawn is None else drawn.kind,
            )
        return Response(
            json.dumps(payload),
            status_code=status,
            headers=headers,
            media_type="application/json; charset=utf-8",
        )

    return app


@contextlib.contextmanager
def github_fake(*, prefix: str = "", **options: Any) -> Iterator[tuple[str, FakeGitHub]]:
    """Serve a fresh `FakeGitHub(**options)` on loopback; yield `(base_url, state)`."""
    state = FakeGitHub(**options)
    with serve(make_github_app(state, prefix)) as url:
        yield url + prefix.rstrip("/"), state
