"""Hostile webhook deliveries: GitHub's real payloads, mutated, re-encoded and (mostly) signed.

Each case starts from a fixture in `tests/fixtures/github-webhooks/`, is often steered onto
the paths that read the most fields (a review action, a `/review` comment on a PR), then has
keys dropped, nulled, retyped or replaced with hostile values (huge strings and numbers, NaN,
lone surrogates). The body may be broken after encoding (truncated, not UTF-8, deeply nested,
a top-level array), the event header may lie, and the signature may be wrong or missing.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

HOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "github-webhooks"
SECRET = b"fuzz-secret"
EVENTS = ["pull_request", "issue_comment", "ping", "installation", "installation_repositories"]
# The fields the decision models read: mutations aim here most of the time.
READ = frozenset(
    {
        "action",
        "pull_request",
        "repository",
        "installation",
        "sender",
        "issue",
        "comment",
        "hook",
        "hook_id",
        "zen",
        "repositories",
        "repositories_added",
        "repositories_removed",
    }
)


@dataclass(frozen=True)
class Delivery:
    """One delivery: what was done to which fixture, and the bytes and headers that result."""

    fixture: str
    steps: tuple[str, ...]
    event: str
    body: bytes
    signature: str | None
    signed: bool  # the signature is GitHub's correct one for this body

    def __repr__(self) -> str:
        head = self.body[:120]
        return (
            f"Delivery({self.fixture}, steps={list(self.steps)}, event={self.event!r}, "
            f"signed={self.signed}, signature={(self.signature or '')[:20]!r}, "
            f"body[{len(self.body)}]={head!r}...)"
        )


@cache
def fixtures() -> dict[str, dict[str, Any]]:
    """Every payload fixture by file name; an error naming the folder when it is missing."""
    if not HOOKS.is_dir():
        raise FileNotFoundError(f"webhook fixtures not found at {HOOKS}")
    return {p.name: json.loads(p.read_bytes()) for p in sorted(HOOKS.glob("*.json"))}


def sign(body: bytes) -> str:
    """GitHub's `X-Hub-Signature-256` for `body`."""
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        out.append((*here, key))
        out.extend(_paths(value, (*here, key)))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        root = root[key]
    return root


hostile_values = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 10**30, 10**400]),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["", "opened", "open", "Bot", "/review", "/review deep", "\x00", "\u202e"]),
    st.sampled_from(["\udc80", "x\ud800y", "a/\udcff"]),  # JSON escapes of lone surrogates
    st.integers(100_000, 3_000_000).map(lambda n: "A" * n),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(
        st.sampled_from(["login", "id", "sha", "name", "x"]), st.integers(), max_size=3
    ),
)


def _retype(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else 0
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return {}


@st.composite
def _mutate(draw: st.DrawFn, payload: dict[str, Any], steps: list[str]) -> None:
    paths = _paths(payload)
    if not paths:
        return
    read = [p for p in paths if p[0] in READ and len(p) <= 3]
    pool = read if read and draw(st.integers(0, 9)) < 7 else paths
    path = pool[draw(st.integers(0, len(pool) - 1))]
    parent, key = _parent(payload, path), path[-1]
    op = draw(st.sampled_from(["drop", "null", "hostile", "hostile", "retype"]))
    where = ".".join(str(k) for k in path)
    if op == "drop":
        del parent[key]
    elif op == "null":
        parent[key] = None
    elif op == "retype":
        parent[key] = _retype(parent[key])
    else:
        parent[key] = draw(hostile_values)
    shown = repr(parent[key])[:40] if op != "drop" else ""
    steps.append(f"{op} {where}{' = ' + shown if shown else ''}")


def _steer(draw: st.DrawFn, event: str, payload: dict[str, Any], steps: list[str]) -> None:
    """Aim at the code paths that validate the whole payload."""
    if event == "pull_request" and draw(st.booleans()):
        payload["action"] = draw(st.sampled_from(["opened", "synchronize", "reopened"]))
        steps.append(f"action = {payload['action']}")
    if event == "issue_comment" and draw(st.booleans()):
        payload["action"] = "created"
        payload.setdefault("issue", {})["pull_request"] = {"url": "https://api.github.com/x"}
        body = draw(st.sampled_from(["/review", "/review deep", "/REVIEW  Deep\r\n", "/retest"]))
        payload.setdefault("comment", {})["body"] = body
        steps.append(f"a {body!r} comment on a PR")


_DEEP = st.integers(100, 200_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
_RAW_BODIES = st.sampled_from(
    [b"", b"null", b"[]", b'"x"', b"1" * 5000, b"{", b"\xff\xfe{}", b'{"action": NaN}']
)


@st.composite
def _encode(draw: st.DrawFn, payload: dict[str, Any], steps: list[str]) -> bytes:
    body = json.dumps(payload).encode()
    kind = draw(st.integers(0, 19))
    if kind == 0:
        cut = draw(st.integers(0, len(body)))
        steps.append(f"truncated at {cut}")
        return body[:cut]
    if kind == 1:
        at = draw(st.integers(0, len(body)))
        steps.append(f"junk byte at {at}")
        return (
            body[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"]))
            + body[at:]
        )
    if kind == 2:
        steps.append("deeply nested body")
        return draw(_DEEP)
    if kind == 3:
        raw: bytes = draw(_RAW_BODIES)
        steps.append(f"body {raw[:20]!r}")
        return raw
    if kind == 4:
        steps.append("utf-16 body")
        return json.dumps(payload).encode("utf-16")
    if kind == 5:
        steps.append("second 'action' key, last one wins")
        return body[:-1] + b', "action": {"x": 1}}'
    return body


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """One hostile delivery."""
    names = sorted(fixtures())
    name = draw(st.sampled_from(names))
    event = name.split(".", 1)[0]
    payload = copy.deepcopy(fixtures()[name])
    steps: list[str] = []
    _steer(draw, event, payload, steps)
    for _ in range(draw(st.integers(0, 4))):
        draw(_mutate(payload, steps))
    body = draw(_encode(payload, steps))
    header = draw(
        st.sampled_from([event] * 6 + EVENTS + ["", "PULL_REQUEST", "push", "pull_request\n"])
        | st.text(max_size=12)
    )
    kind = draw(st.integers(0, 14))
    good = sign(body)
    signature: str | None = {
        0: None,
        1: "",
        2: "sha256=",
        3: "sha256=" + "0" * 64,
        4: "sha1=" + good[7:47],
        5: good + " ",
        6: sign(body + b" "),
        7: "sha256=" + "zz" * 32,
        8: "sha256=" + "é" * 64,
        9: "sha256=" + good[7:].upper(),
    }.get(kind, good)
    return Delivery(name, tuple(steps), header, body, signature, kind >= 9)
