"""Hostile `.github/tiered-review.yml` files, as the bytes a repository would hold.

Three families: overrides of real config keys with wrong types, out-of-range and huge numbers,
bad RE2 patterns, bad globs, unknown and forbidden keys (dumped by PyYAML); YAML that attacks
the parser (billion laughs, recursive aliases, deep nesting, bad timestamps, Python tags,
several documents, non-mapping roots); and raw bytes (binary, NUL, not UTF-8, UTF-16).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import strategies as st

from app.resources import default_config_data

BAD_PATTERNS = [
    "(?<=a)b",
    "(",
    "[z-a]",
    "\\",
    "a{1001}",
    "(a)\\1",
    "(?P<n>a)(?P=n)",
    "x" * 50_000,
    "|".join(f"w{i}" for i in range(20_000)),
    "((((((((((a*)*)*)*)*)*)*)*)*)*)",
    "",
    "é+",
    "\x00",
]
BAD_GLOBS = [
    "[z-a]",
    "[",
    "[]]",
    "**/[!",
    "\\",
    "[\\]",
    "a[b-a]c",
    "*" * 1000,
    "",
    "/abs",
    "../x",
    "[[:alpha:]]",
    "*" * 25 + "x",
    "*a" * 12 + "x",
    "**/" * 30 + "x",
]
NUMBERS = [0, -1, 1, 2**31, 2**63, 10**30, 10**400, 1.5, 1e308, float("inf"), float("nan"), True]
SCALARS = st.one_of(
    st.none(),
    st.sampled_from(NUMBERS),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", "small", "anthropic:claude-opus-5-5", "nope:x", "local:m", "trivial"]),
    st.integers(2_000, 40_000).map(lambda n: "long " * n),
)
values = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_MODEL_ENTRY = {
    "window": 200_000,
    "max_output": 8192,
    "min_cacheable": 1024,
    "tokenizer": {"kind": "factor", "factor": 1.2},
    "prices": [{"input": 1.0, "cache_read": 0.1, "cache_write": 1.25, "output": 5.0}],
}


def _leaf_paths(node: Any, here: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [p for k, v in node.items() for p in _leaf_paths(v, (*here, str(k)))] + [here]
    return [here]


DEFAULTS = default_config_data()
PATHS = sorted(p for p in _leaf_paths(DEFAULTS) if p)


def _value_for(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """Hostile values that fit where `path` sits, and some that do not."""
    options: list[st.SearchStrategy[Any]] = [values]
    if "patterns" in path:
        options.append(st.lists(st.sampled_from(BAD_PATTERNS), min_size=1, max_size=3))
    if "globs" in path or path[0] == "paths":
        options.append(st.lists(st.sampled_from(BAD_GLOBS), min_size=1, max_size=3))
        options.append(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "path": st.sampled_from(BAD_GLOBS),
                        "text": st.sampled_from(["t", "x" * 20_000]),
                    }
                ),
                max_size=2,
            )
        )
    if path[-1] in ("model", "alternate"):
        options.append(
            st.sampled_from(["nope:x", "anthropic:unknown", "local:m", "a:b:c", "gemini:"])
        )
    if path[0] == "rules":
        options.append(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.sampled_from(["r", ""]),
                        "tier": st.sampled_from(["local", "long", "x"]),
                    }
                ),
                max_size=2,
            )
        )
    options.append(st.sampled_from(NUMBERS))
    return st.one_of(options)


MODELS = [
    "anthropic:claude-haiku-5-5",
    "anthropic:claude-opus-5-5",
    "openai:gpt-5.6-luna",
    "openai:gpt-4o-mini",
    "gemini:gemini-2.5-pro",
    "local:qwen3-coder",
]
GOOD_GLOBS = ["**", "*", "**/*.py", "src/**", "docs/*", "?", "[!a]*", "**/test_*.py"]
GOOD_PATTERNS = [".", "^", "$", "a|b", "(?i)def", "\\w+\\(", "^[ \\t]*$"]
_RULE = st.fixed_dictionaries(
    {"id": st.sampled_from(["r1", "r2"]), "tier": st.sampled_from(["small", "long", "frontier"])},
    optional={
        "task": st.sampled_from(["review", "summary", "cross_cutting"]),
        "difficulty": st.sampled_from(["trivial", "routine", "substantive", "architectural"]),
        "mode": st.sampled_from(["normal", "deep"]),
        "private": st.booleans(),
    },
)


def _extreme_for(path: tuple[str, ...], default: Any) -> st.SearchStrategy[Any]:
    """Values that pass validation but sit at the edges: 1-token budgets, huge caps, `**`."""
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.sampled_from([1, 2, 3, 1000, 10**6, 2**31, 10**30])
    if path[-1] in ("model", "alternate"):
        return st.sampled_from(MODELS)
    if path[0] == "budget":
        return st.sampled_from([0.0, 1e-9, 0.0001, 0.01, 1e308])
    if "signals" in path:
        return st.sampled_from(["trivial", "routine", "substantive", "architectural"])
    if path[-1] == "min_severity":
        return st.sampled_from(["critical", "major", "minor", "nit"])
    if path[0] == "rules":
        return st.lists(_RULE, max_size=3).map(
            lambda rules: [*rules, {"id": "z", "tier": "middle"}]
        )
    if "patterns" in path:
        return st.lists(st.sampled_from(GOOD_PATTERNS), max_size=3)
    if "globs" in path or path[0] == "paths":
        if path[-1] == "instructions":
            return st.lists(
                st.fixed_dictionaries(
                    {
                        "path": st.sampled_from(GOOD_GLOBS),
                        "text": st.sampled_from(["t", "x" * 9000]),
                    }
                ),
                max_size=2,
            )
        return st.lists(st.sampled_from(GOOD_GLOBS), max_size=3)
    if isinstance(default, str):
        return st.sampled_from(["", "Review for security.", "é" * 5000, "<|endoftext|>"])
    return st.sampled_from([default])


def _extreme_model(draw: st.DrawFn) -> dict[str, Any]:
    """A valid catalog entry with edge-of-range numbers, and a tier that uses it."""
    entry = {
        "window": draw(st.sampled_from([1, 100, 5000, 10**7])),
        "max_output": draw(st.sampled_from([1, 100, 10**6])),
        "min_cacheable": draw(st.sampled_from([0, 1, 10**9])),
        "tokenizer": {"kind": "factor", "factor": draw(st.sampled_from([1e-6, 1.0, 1e6]))},
        "prices": [
            {"input": p, "cache_read": p, "cache_write": p, "output": p}
            for p in [draw(st.sampled_from([0.0, 1e-9, 1.0, 1e9]))]
        ],
    }
    key = draw(st.sampled_from(["anthropic:edge", "openai:edge", "local:edge"]))
    return {
        "models": {key: entry},
        "tiers": {draw(st.sampled_from(["small", "local"])): {"model": key}},
    }


def _default_at(path: tuple[str, ...]) -> Any:
    node: Any = DEFAULTS
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    # A copy: a drawn value may be this very node, and a later `_set` into the tree being
    # built would otherwise change DEFAULTS, so the next case (or the shrinker's replay) drew
    # from different lists: hypothesis's FlakyStrategyDefinition.
    return copy.deepcopy(node)


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
        if not isinstance(tree, dict):
            return
    tree[path[-1]] = value


@st.composite
def overrides(draw: st.DrawFn) -> dict[str, Any]:
    """A repo config that changes one to four real keys, at the edges or past them."""
    tree: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(PATHS))
        if draw(st.booleans()):
            _set(tree, path, draw(_extreme_for(path, _default_at(path))))
        else:
            _set(tree, path, draw(_value_for(path)))
    if draw(st.integers(0, 4)) == 0:
        tree.update(_extreme_model(draw))
    extra = draw(st.integers(0, 19))
    if extra == 0:
        _set(tree, (draw(st.sampled_from(["tiers", "requests", "x"])), "unknown_key"), 1)
    elif extra == 1:
        _set(tree, (draw(st.sampled_from(["tiers", "models", "paths"])), "base_url"), "http://evil")
    elif extra == 2:
        entry = {**_MODEL_ENTRY, draw(st.sampled_from(list(_MODEL_ENTRY))): draw(values)}
        tree["models"] = {draw(st.sampled_from(["anthropic:new", "bad", "local:*"])): entry}
        tree["tiers"] = {"small": {"model": "anthropic:new"}}
    return tree


def _laughs(depth: int, fanout: int) -> str:
    lines = ["a0: &a0 [lol]"]
    for i in range(1, depth):
        refs = ", ".join([f"*a{i - 1}"] * fanout)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"instructions: *a{depth - 1}")
    return "\n".join(lines) + "\n"


ATTACKS = st.one_of(
    st.builds(_laughs, st.integers(3, 12), st.integers(2, 10)),
    st.just("tiers: &t {small: *t}\n"),
    st.just("rules: &r [*r]\n"),
    st.just("paths: &p\n  exclude: *p\n"),
    st.just("base: &b {max_inline: 3}\ncomments:\n  <<: *b\n"),
    st.integers(100, 20_000).map(lambda n: "instructions: " + "[" * n + "]" * n + "\n"),
    st.integers(100, 20_000).map(
        lambda n: "x:\n" + "".join(" " * i + "- \n" for i in range(0, n, 1))[:200_000]
    ),
    st.integers(100, 5_000).map(lambda n: "instructions: " + "{a: " * n + "1" + "}" * n + "\n"),
    st.sampled_from(
        [
            "as_of: 2026-13-45\n",
            "as_of: 2026-02-30\n",
            "as_of: 2026-11-27 99:99:99\n",
            "budget: {max_usd_per_pr: .nan}\n",
            "budget: {max_usd_per_pr: 1e999}\n",
            "comments: {max_inline: 0x7fffffffffffffffffff}\n",
            "comments: {max_inline: " + "9" * 5000 + "}\n",
            "!!python/object/apply:os.system ['true']\n",
            "instructions: !!binary aGVsbG8=\n",
            "instructions: !!binary '%%%'\n",
            "instructions: !!timestamp 'not a date'\n",
            "instructions: !!int 'abc'\n",
            "instructions: !!float 'abc'\n",
            "instructions: !!set {a, b}\n",
            "? [a, b]\n: 1\n",
            "? {a: 1}\n: 1\n",
            "1: 2\nnull: 3\n",
            "a: 1\n---\nb: 2\n",
            "- a\n- b\n",
            "just a string\n",
            "42\n",
            "~\n",
            "",
            "\t tiers: x\n",
            "tiers:\n  small: {model: x\n",
            "comments: {max_inline: 1}\ncomments: {max_inline: 2}\n",
            "%YAML 9.9\n---\na: 1\n",
            "&a a: *a\n",
            "*undefined\n",
            "instructions: '\\ud800'\n",
            'instructions: "\\ud800"\n',
            'instructions: "\\x00\\uffff"\n',
        ]
    ),
)
_RAW = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"\x00", b"\xff\xfe", b"\xef\xbb\xbfcomments: {max_inline: 3}\n", b"\x89PNG\r\n\x1a\n"]
    ),
    st.builds(
        lambda s: s.encode("utf-16"), st.sampled_from(["comments: {max_inline: 3}\n", "a: 1"])
    ),
    st.builds(lambda s: s.encode("latin-1"), st.just("instructions: caf\xe9\n")),
)


def _dump(tree: dict[str, Any]) -> bytes:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode(
        "utf-8", "surrogatepass"
    )


@st.composite
def config_files(draw: st.DrawFn) -> bytes:
    """The bytes of one hostile repository config file."""
    kind = draw(st.integers(0, 9))
    if kind < 5:
        data = _dump(draw(overrides()))
    elif kind < 9:
        data = draw(ATTACKS).encode("utf-8", "surrogatepass")
    else:
        return draw(_RAW)
    if draw(st.integers(0, 5)) == 0:  # then break it a little
        at = draw(st.integers(0, len(data)))
        data = (
            data[:at]
            + draw(st.sampled_from([b"", b"\x00", b"\xff", b":", b"\n  - ", b"&x "]))
            + data[at:]
        )
    return data
