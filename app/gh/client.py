"""GitHub through PyGithub: with `threads.py`, the only module that imports it.

Reads a PR (metadata, paginated files, contents at a SHA, the config at the base SHA, the bot's
own earlier comments) and writes one review, the sticky summary and a check run. PyGithub's own
retry repeats reads only; a write is repeated by `_write` alone, after checking whether the
earlier attempt landed, so a POST applied but answered 502 is never doubled.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import requests
from github import Auth, Github, GithubException, GithubRetry, UnknownObjectException
from github.Issue import Issue
from github.PullRequest import PullRequest, ReviewComment
from github.Repository import Repository

from app.errors import GitHubError
from app.plan.diff import PatchFile

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
MAX_PR_FILES = 3000  # GitHub lists at most this many files of a pull request
_CONTENT_BYTES = 1_000_000
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class PullInfo:
    """What a review needs to know about a pull request."""

    owner: str
    repo: str
    number: int
    title: str
    body: str
    state: str
    draft: bool
    author: str
    labels: tuple[str, ...]
    base_sha: str
    head_sha: str
    files: tuple[PatchFile, ...]
    over_file_limit: bool
    blobs: Mapping[str, str] = field(default_factory=dict)  # path -> blob SHA at the head


@dataclass(frozen=True, slots=True)
class Blob:
    """A file's blob at a commit: its SHA, its size, and its text when that is usable."""

    sha: str
    size: int
    text: str | None  # None: binary, not UTF-8, or over the size asked for


class FetchStopped(GitHubError):
    """A rate limit or a timeout: further optional reads would only meet it again."""


@dataclass(frozen=True, slots=True)
class BotComment:
    """A comment or review the bot wrote (markers are trusted only here)."""

    kind: str  # "issue_comment", "review" or "review_comment"
    id: int
    body: str


class GitHubClient:
    """One authenticated client for one repository's pull requests."""

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_API_URL,
        *,
        throttle: bool = True,
        write_attempts: int = 4,
        retry_after_cap_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: int = 15,
        read_retries: int = 5,
    ) -> None:
        # Reads retry with backoff (and secondary rate limits) in PyGithub; POST and PATCH do
        # not, so a write is only repeated below, after the marker check.
        retry = GithubRetry(total=read_retries, backoff_factor=0.5, allowed_methods=_READ_METHODS)
        self._gh = Github(
            base_url=base_url.rstrip("/"),
            auth=Auth.Token(token),
            timeout=timeout_s,  # seconds per request (PyGithub's default; it takes an int)
            retry=retry,
            per_page=100,
            lazy=True,  # no GET of the repository before each call on it
            # GitHub asks integrators to pace writes; tests against the loopback fake do not.
            seconds_between_requests=0.25 if throttle else None,
            seconds_between_writes=1.0 if throttle else None,
        )
        self._attempts = write_attempts
        self._cap = retry_after_cap_s
        self._sleep = sleep

    def close(self) -> None:
        """Release the HTTP session."""
        self._gh.close()

    @property
    def api(self) -> Github:
        """The PyGithub client, for `threads.py` (review threads, replies, GraphQL)."""
        return self._gh

    def write(self, what: str, attempt: Callable[[], None], landed: Callable[[], bool]) -> None:
        """Repeat a write after rate limits and server errors, never after it landed."""
        self._write(what, attempt, landed)

    def _repo(self, owner: str, repo: str) -> Repository:
        return self._gh.get_repo(f"{owner}/{repo}")

    def _pull(self, owner: str, repo: str, number: int) -> PullRequest:
        return self._repo(owner, repo).get_pull(number)

    def _issue(self, owner: str, repo: str, number: int) -> Issue:
        # The PR's issue comments through the lazy issue: the pull request's own methods need its
        # `issue_url`, which costs a GET of the whole PR each time.
        return self._repo(owner, repo).get_issue(number)

    def pull(self, owner: str, repo: str, number: int) -> PullInfo:
        """PR metadata and its files (all pages, up to GitHub's 3,000-file limit)."""
        try:
            pr = self._pull(owner, repo, number)
            listed = list(pr.get_files())
            files = tuple(
                PatchFile(f.filename, f.status, f.patch, f.previous_filename) for f in listed
            )
        except GithubException as exc:
            raise _failed(f"{owner}/{repo}#{number}", exc) from exc
        return PullInfo(
            owner=owner,
            repo=repo,
            number=number,
            title=pr.title or "",
            body=pr.body or "",
            state=pr.state,
            draft=bool(pr.draft),
            author=pr.user.login if pr.user else "",
            labels=tuple(label.name for label in pr.labels),
            base_sha=pr.base.sha,
            head_sha=pr.head.sha,
            files=files,
            over_file_limit=len(files) >= MAX_PR_FILES or pr.changed_files > len(files),
            blobs={f.filename: f.sha for f in listed if f.status != "removed" and f.sha},
        )

    def file_text(self, owner: str, repo: str, path: str, ref: str) -> str | None:
        """A file's text at a commit, or None (absent, binary, a folder, or over 1 MB)."""
        try:
            content = self._repo(owner, repo).get_contents(path, ref=ref)
        except UnknownObjectException:
            return None
        except GithubException as exc:
            log.info("contents of %s at %s: %s", path, ref[:12], _describe(exc))
            return None
        if isinstance(content, list) or content.size > _CONTENT_BYTES:
            return None
        try:
            return content.decoded_content.decode("utf-8")
        except (UnicodeDecodeError, AssertionError):
            return None

    def blob_at(self, owner: str, repo: str, path: str, ref: str, max_bytes: int) -> Blob | None:
        """A file's blob at a commit through the contents API (one request), or None when absent.

        The text is None for a binary, non-UTF-8 or NUL-holding file, or one over `max_bytes`
        (GitHub sends no content past 1 MB). A rate limit or a timeout raises `FetchStopped`;
        another failure raises `GitHubError`. Nothing of the content is logged.
        """
        try:
            content = self._repo(owner, repo).get_contents(path, ref=ref)
            if isinstance(content, list) or content.type != "file":
                return None
            sha, size, encoding = content.sha, content.size, content.encoding
            raw = content.decoded_content if size <= max_bytes and encoding == "base64" else None
        except UnknownObjectException:
            return None
        except GithubException as exc:
            if exc.status in (403, 429):
                raise FetchStopped(f"contents: {_describe(exc)}", exc.status) from exc
            raise _failed("contents", exc) from exc
        except requests.RequestException as exc:  # timeouts and resets, after PyGithub's retries
            raise FetchStopped(f"contents: {type(exc).__name__}") from exc
        return Blob(sha, size, _text(raw))

    def merge_base(self, owner: str, repo: str, base: str, head: str) -> str | None:
        """The commit a PR's file list is diffed against (compare's merge base), or None."""
        try:
            return str(self._repo(owner, repo).compare(base, head).merge_base_commit.sha)
        except GithubException as exc:
            log.info("no merge base of %s...%s: %s", base[:12], head[:12], _describe(exc))
            return None
        except requests.RequestException as exc:
            log.info("no merge base of %s...%s: %s", base[:12], head[:12], type(exc).__name__)
            return None

    def changed_since(self, owner: str, repo: str, base: str, head: str) -> set[str] | None:
        """Files changed between two commits, or None when `base` is gone (a force-push)."""
        try:
            comparison = self._repo(owner, repo).compare(base, head)
            return {f.filename for f in comparison.files}
        except UnknownObjectException:
            return None
        except GithubException as exc:
            if exc.status in (404, 422):
                return None
            raise _failed(f"compare {base[:12]}...{head[:12]}", exc) from exc

    def bot_comments(self, owner: str, repo: str, number: int, bot: str) -> list[BotComment]:
        """Everything the bot wrote on the PR: issue comments, reviews and review comments."""
        out: list[BotComment] = []
        try:
            for c in self._issue(owner, repo, number).get_comments():
                if c.user and c.user.login == bot:
                    out.append(BotComment("issue_comment", c.id, c.body or ""))
            out += self.bot_reviews(owner, repo, number, bot)
            for rc in self._pull(owner, repo, number).get_review_comments():
                if rc.user and rc.user.login == bot:
                    out.append(BotComment("review_comment", rc.id, rc.body or ""))
        except GithubException as exc:
            raise _failed(f"{owner}/{repo}#{number}", exc) from exc
        return out

    def bot_reviews(self, owner: str, repo: str, number: int, bot: str) -> list[BotComment]:
        """Only the bot's reviews on the PR: what a review's job marker is looked for in."""
        try:
            return [
                BotComment("review", r.id, r.body or "")
                for r in self._pull(owner, repo, number).get_reviews()
                if r.user and r.user.login == bot
            ]
        except GithubException as exc:
            raise _failed(f"{owner}/{repo}#{number}", exc) from exc

    def bot_comments_since(self, owner: str, repo: str, since: dt.datetime, bot: str) -> list[str]:
        """The bodies of the bot's issue comments on any PR of the repository updated `since`."""
        try:
            comments = self._repo(owner, repo).get_issues_comments(since=since)
            return [c.body or "" for c in comments if c.user and c.user.login == bot]
        except GithubException as exc:
            raise _failed(f"{owner}/{repo} comments", exc) from exc

    def post_review(
        self,
        info: PullInfo,
        body: str,
        comments: list[dict[str, Any]],
        landed: Callable[[], bool],
    ) -> None:
        """One COMMENT review on the head SHA; `landed` says whether an attempt already posted."""
        pr = self._pull(info.owner, info.repo, info.number)
        commit = self._repo(info.owner, info.repo).get_commit(info.head_sha)

        typed = [cast(ReviewComment, c) for c in comments]

        def create() -> None:
            pr.create_review(commit=commit, body=body, event="COMMENT", comments=typed)

        self._write(f"review on {info.head_sha[:12]}", create, landed)

    def upsert_comment(
        self, info: PullInfo, body: str, existing: int | None, find: Callable[[], int | None]
    ) -> int:
        """Edit the sticky comment in place, or create it; `find` re-reads it before a retry."""
        issue = self._issue(info.owner, info.repo, info.number)
        created: list[int] = []

        def write() -> None:
            target = existing if existing is not None else find()
            if target is not None:
                issue.get_comment(target).edit(body)
                created.append(target)
            else:
                created.append(issue.create_comment(body).id)

        self._write("summary comment", write, lambda: False)
        return created[-1]

    def neutral_check(self, info: PullInfo, title: str, summary: str) -> bool:
        """A neutral `tiered-review` check run; False when the token may not create one.

        Best effort: the review and the summary are already up, so a check run GitHub keeps
        refusing with 5xx is logged and skipped rather than failing the job (whose retry would
        run every model request again). There is no marker to find an earlier attempt by; a
        create applied but answered 5xx and repeated leaves a second neutral run of the same
        name, and the PR shows the latest.
        """
        output: dict[str, str | list[dict[str, str | int]]] = {
            "title": title[:255],
            "summary": summary[:65_535],
        }
        repo = self._repo(info.owner, info.repo)

        def create() -> None:
            repo.create_check_run(
                name="tiered-review",
                head_sha=info.head_sha,
                status="completed",
                conclusion="neutral",
                output=output,
            )

        try:
            self._write("check run", create, lambda: False)
        except GitHubError as exc:
            status = exc.status_code or 0
            if status in (403, 404, 422):  # a personal or workflow token without checks:write
                log.info("no check run: %s", exc)
                return False
            if status == 429 or status >= 500:
                log.warning("no check run: %s", exc)
                return False
            raise
        return True

    def reply(self, info: PullInfo, body: str) -> None:
        """A plain comment on the PR (command replies); created once, never retried blindly."""
        issue = self._issue(info.owner, info.repo, info.number)

        def create() -> None:
            issue.create_comment(body)

        self._write("reply", create, lambda: False)

    def react(self, owner: str, repo: str, comment_id: int, content: str = "eyes") -> None:
        """Acknowledge a command comment with a reaction (best effort)."""
        path = f"/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
        try:
            self._gh.requester.requestJsonAndCheck("POST", path, input={"content": content})
        except GithubException as exc:
            log.info("no reaction on comment %s: %s", comment_id, _describe(exc))

    def permission(self, owner: str, repo: str, user: str) -> str:
        """The user's permission on the repository (admin, maintain, write, triage, read, none)."""
        try:
            return self._repo(owner, repo).get_collaborator_permission(user)
        except GithubException as exc:
            if exc.status == 404:
                return "none"
            raise _failed(f"permission of {user}", exc) from exc

    def _write(self, what: str, attempt: Callable[[], None], landed: Callable[[], bool]) -> None:
        """Repeat a write after rate limits and server errors, never after it landed."""
        for number in range(1, self._attempts + 1):
            if number > 1 and landed():
                log.info("%s: an earlier attempt landed; not posting again", what)
                return
            try:
                attempt()
                return
            except GithubException as exc:
                wait = self._wait(exc, number)
                if wait is None or number == self._attempts:
                    raise _failed(what, exc) from exc
                log.warning("%s: %s; retrying in %.1f s", what, _describe(exc), wait)
                self._sleep(wait)

    def _wait(self, exc: GithubException, number: int) -> float | None:
        """Seconds to wait before retrying a write, or None when retrying cannot help."""
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        limited = exc.status == 429 or (
            exc.status == 403
            and ("retry-after" in headers or "rate limit" in _describe(exc).lower())
        )
        if limited:
            try:
                asked = float(headers.get("retry-after", "60"))
            except ValueError:
                asked = 60.0
            return min(asked, self._cap)
        if exc.status >= 500:
            return min(2.0 ** (number - 1), self._cap)
        return None


def _text(raw: bytes | None) -> str | None:
    """UTF-8 text without NUL bytes, or None (binary: no parser and no database column wants it)."""
    if raw is None or b"\0" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def failed(what: str, exc: GithubException) -> GitHubError:
    """Our error for a failed call (public, for `threads.py`)."""
    return _failed(what, exc)


def _failed(what: str, exc: GithubException) -> GitHubError:
    """Our error for a failed call, carrying GitHub's HTTP status for callers to branch on."""
    return GitHubError(f"{what}: {_describe(exc)}", exc.status)


def _describe(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message") or exc.message or "")
    errors = data.get("errors")
    detail = f" ({errors})" if errors else ""
    return f"HTTP {exc.status}: {message}{detail}"[:300]
