"""Review threads through PyGithub: read a thread, reply in it, its reactions, resolve it.

REST for comments, replies and reactions; GraphQL (PyGithub's `graphql_query` and
`graphql_named_mutation`) for what REST lacks: a thread's id, whether it is resolved or
outdated, and `resolveReviewThread`. https://docs.github.com/graphql/reference/mutations
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from github import GithubException

from app.gh.client import GitHubClient, failed

_THREADS_QUERY = """
query Threads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        nodes {
          id
          isResolved
          isOutdated
          path
          resolvedBy { login }
          comments(first: 1) { nodes { databaseId author { login } } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""
_MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class ThreadComment:
    """One review comment of a thread."""

    id: int
    user: str
    user_type: str
    body: str
    path: str
    in_reply_to: int | None


@dataclass(frozen=True, slots=True)
class ReviewThread:
    """A review thread as GraphQL describes it."""

    id: str
    resolved: bool
    outdated: bool
    path: str
    first_comment_id: int | None
    first_author: str  # GraphQL gives a bot's login without `[bot]`
    resolved_by: str = ""


def thread_of(
    client: GitHubClient, owner: str, repo: str, number: int, comment_id: int
) -> list[ThreadComment]:
    """The thread `comment_id` belongs to, its first comment first; empty when it is gone.

    Read as raw pages: PyGithub would fetch each first comment again to learn that it has no
    `in_reply_to_id` (GitHub omits the field rather than sending null).
    """
    comments = review_comments(client, owner, repo, number)
    this = next((c for c in comments if c.id == comment_id), None)
    if this is None:
        return []
    root = this.in_reply_to or this.id
    return [c for c in comments if c.id == root] + [c for c in comments if c.in_reply_to == root]


def review_comments(
    client: GitHubClient, owner: str, repo: str, number: int
) -> list[ThreadComment]:
    """Every review comment of the PR, oldest first."""
    path = f"/repos/{owner}/{repo}/pulls/{number}/comments"
    try:
        items = _pages(client, path)
    except GithubException as exc:
        raise failed(f"{owner}/{repo}#{number} review comments", exc) from exc
    return [
        ThreadComment(
            int(c["id"]),
            str((c.get("user") or {}).get("login") or ""),
            str((c.get("user") or {}).get("type") or ""),
            str(c.get("body") or ""),
            str(c.get("path") or ""),
            c.get("in_reply_to_id"),
        )
        for c in items
    ]


def _pages(client: GitHubClient, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated REST list, up to `_MAX_PAGES` pages of 100."""
    out: list[dict[str, Any]] = []
    for page in range(1, _MAX_PAGES + 1):
        _, data = client.api.requester.requestJsonAndCheck(
            "GET", path, parameters={"per_page": 100, "page": page}
        )
        items = data if isinstance(data, list) else []
        out += [i for i in items if isinstance(i, dict)]
        if len(items) < 100:
            break
    return out


def reply_in_thread(
    client: GitHubClient,
    owner: str,
    repo: str,
    number: int,
    root_id: int,
    body: str,
    landed: Any,
) -> None:
    """Reply in the thread of top-level comment `root_id`; `landed` checks an earlier attempt."""
    pr = client.api.get_repo(f"{owner}/{repo}").get_pull(number)

    def create() -> None:
        pr.create_review_comment_reply(root_id, body)

    client.write(f"reply in thread {root_id}", create, landed)


def reactions(
    client: GitHubClient, owner: str, repo: str, comment_id: int
) -> list[tuple[str, str]]:
    """(login, content) of every reaction on a review comment."""
    path = f"/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions"
    try:
        items = _pages(client, path)
    except GithubException as exc:
        raise failed(f"reactions of review comment {comment_id}", exc) from exc
    return [(str((r.get("user") or {}).get("login") or ""), str(r.get("content"))) for r in items]


def review_threads(client: GitHubClient, owner: str, repo: str, number: int) -> list[ReviewThread]:
    """Every review thread of the PR, with whether it is resolved or outdated."""
    out: list[ReviewThread] = []
    after: str | None = None
    for _ in range(_MAX_PAGES):
        variables = {"owner": owner, "name": repo, "number": number, "after": after}
        try:
            _, data = client.api.requester.graphql_query(_THREADS_QUERY, variables)
        except GithubException as exc:
            raise failed(f"{owner}/{repo}#{number} review threads", exc) from exc
        pull = ((data.get("data") or {}).get("repository") or {}).get("pullRequest") or {}
        threads = pull.get("reviewThreads") or {}
        for node in threads.get("nodes") or []:
            first = ((node.get("comments") or {}).get("nodes") or [None])[0] or {}
            out.append(
                ReviewThread(
                    id=str(node["id"]),
                    resolved=bool(node.get("isResolved")),
                    outdated=bool(node.get("isOutdated")),
                    path=str(node.get("path") or ""),
                    first_comment_id=first.get("databaseId"),
                    first_author=str((first.get("author") or {}).get("login") or ""),
                    resolved_by=str((node.get("resolvedBy") or {}).get("login") or ""),
                )
            )
        info = threads.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            break
        after = info.get("endCursor")
    return out


def resolve_thread(client: GitHubClient, thread_id: str) -> bool:
    """Resolve a review thread (GraphQL `resolveReviewThread`); whether it is now resolved."""
    try:
        _, data = client.api.requester.graphql_named_mutation(
            "resolveReviewThread", {"threadId": thread_id}, "thread { id isResolved }"
        )
    except GithubException as exc:
        raise failed(f"resolve thread {thread_id}", exc) from exc
    return bool((data.get("thread") or {}).get("isResolved"))
