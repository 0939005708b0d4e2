"""The fake GitHub's GraphQL endpoint: review threads and `resolveReviewThread`, schema-checked.

Every query is parsed and validated by graphql-core against GitHub's own schema excerpt in
`tests/fixtures/github-conversation/review-threads.graphql`, then executed over the fake's state.
GitHub answers GraphQL errors with HTTP 200 and an `errors` list; so does this. A thread is a
top-level review comment and its replies; its id is `PRRT_<hex of the first comment's id>`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema, build_schema, graphql_sync, parse, validate
from graphql.error import GraphQLError

if TYPE_CHECKING:
    from tests.fakes.github_fake import FakeGitHub

SCHEMA_PATH = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "github-conversation"
    / "review-threads.graphql"
)


@functools.cache
def schema() -> GraphQLSchema:
    """GitHub's schema excerpt, built once per process."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


def thread_id(first_comment_id: int) -> str:
    """The node id the fake gives the thread that starts with `first_comment_id`."""
    return f"PRRT_{first_comment_id:x}"


def answer(state: FakeGitHub, body: Any) -> tuple[list[str], dict[str, Any]]:
    """(schema problems, the JSON reply) for one `POST /graphql` body."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return ["body: a JSON object with a `query` string"], {
            "errors": [{"message": "A query attribute must be specified and must be a string."}]
        }
    try:
        document = parse(body["query"])
    except GraphQLError as error:
        return [error.message], {"errors": [{"message": error.message}]}
    problems = [e.message for e in validate(schema(), document)]
    if problems:
        return problems, {"errors": [{"message": m} for m in problems]}
    result = graphql_sync(
        schema(),
        body["query"],
        root_value=_Root(state),
        variable_values=body.get("variables") or {},
    )
    reply: dict[str, Any] = {"data": result.data}
    if result.errors:
        reply["errors"] = [
            {"type": _error_type(e), "message": e.message, "path": e.path} for e in result.errors
        ]
        # Variable-coercion errors are schema problems too (a wrong input shape).
        return ([e.message for e in result.errors if e.path is None], reply)
    return [], reply


def _error_type(error: GraphQLError) -> str:
    original = error.original_error
    return "NOT_FOUND" if isinstance(original, LookupError) else "UNPROCESSABLE"


class _Root:
    """Query and Mutation fields, resolved over the fake's state (under its lock)."""

    def __init__(self, state: FakeGitHub) -> None:
        self._state = state

    def repository(self, _info: Any, owner: str, name: str, **_: Any) -> dict[str, Any] | None:
        state = self._state
        repo_key = (owner.lower(), name.lower())
        if not state.has_repo(owner, name):
            raise LookupError(f"Could not resolve to a Repository with the name '{owner}/{name}'.")

        def pull_request(_info: Any, number: int) -> dict[str, Any]:
            threads = state.threads(repo_key, number)
            if threads is None:
                raise LookupError(
                    f"Could not resolve to a PullRequest with the number of {number}."
                )
            return {
                "id": f"PR_{repo_key[0]}_{repo_key[1]}_{number}",
                "number": number,
                "reviewThreads": functools.partial(_connection, [_thread(t) for t in threads]),
            }

        return {"id": f"R_{owner}_{name}", "pullRequest": pull_request}

    def resolveReviewThread(self, _info: Any, input: Mapping[str, Any]) -> dict[str, Any]:  # noqa: N802
        thread = self._state.resolve_thread_by_node(str(input["threadId"]))
        if thread is None:
            raise LookupError(
                f"Could not resolve to a node with the global id of '{input['threadId']}'."
            )
        return {"clientMutationId": input.get("clientMutationId"), "thread": _thread(thread)}


def _connection(
    nodes: list[dict[str, Any]],
    _info: Any,
    first: int | None = None,
    after: str | None = None,
    **_: Any,
) -> dict[str, Any]:
    """One page of a connection; cursors are positions."""
    start = int(after) + 1 if after else 0
    size = min(first or 100, 100)
    page = nodes[start : start + size]
    end = start + len(page) - 1
    return {
        "nodes": page,
        "totalCount": len(nodes),
        "pageInfo": {
            "hasNextPage": start + size < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": str(start) if page else None,
            "endCursor": str(end) if page else None,
        },
    }


def _thread(thread: Mapping[str, Any]) -> dict[str, Any]:
    comments = [
        {
            "id": f"PRRC_{c['id']:x}",
            "databaseId": c["id"],
            "body": c["body"],
            "outdated": thread["outdated"],
            "author": {
                "__typename": "Bot" if c["user"].endswith("[bot]") else "User",
                "id": f"U_{c['user']}",
                "login": c["user"].removesuffix("[bot]"),
            },
        }
        for c in thread["comments"]
    ]
    resolver = thread["resolved_by"]
    return {
        "id": thread_id(thread["comments"][0]["id"]),
        "path": thread["comments"][0]["path"],
        "line": None if thread["outdated"] else thread["comments"][0]["line"],
        "isResolved": resolver is not None,
        "isOutdated": thread["outdated"],
        "viewerCanResolve": True,
        "resolvedBy": None
        if resolver is None
        else {"__typename": "User", "id": f"U_{resolver}", "login": resolver},
        "comments": functools.partial(_connection, comments),
    }
