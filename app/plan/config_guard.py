"""What makes a repository's config unusable whatever its keys: a hostile YAML file's shapes.

Checked before the keys are validated: flow collections nested deeper than any real config,
alias bombs, numbers too large or not finite for any setting, lone surrogates, and keys that
would point requests somewhere else or carry a credential.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# Keys a repository's config may not set: a PR could otherwise point requests at its own server.
_FORBIDDEN_KEYS = frozenset({"base_url", "api_key", "api_base", "url", "endpoint", "key", "token"})


def forbidden_path(data: Any, path: str = "") -> str | None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{path}.{key}" if path else str(key)
            if str(key).lower() in _FORBIDDEN_KEYS:
                return here
            found = forbidden_path(value, here)
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = forbidden_path(value, f"{path}[{i}]")
            if found:
                return found
    return None


# Far more keys and values than any real config holds (the defaults hold 562), yet a walk this long
# is quick: a file whose aliases expand past it is a "billion laughs" or a recursive alias.
MAX_CONFIG_VALUES = 20_000


_SURROGATE = re.compile("[\ud800-\udfff]")
# Every number a setting takes is far below this (2**53, the largest integer a float holds
# exactly); a larger one overflowed float conversions deep in planning.
MAX_CONFIG_INT = 2**53


def value_problem(data: Any) -> str | None:
    """Why the loaded YAML cannot be used whatever its keys, or None.

    Too many values once aliases are expanded (a "billion laughs" or a recursive alias), a
    number too large or not finite for any setting, or a string with a lone surrogate (YAML's
    `"\\ud800"` escape), which no request can encode.
    """
    stack, seen = [data], 0
    while stack:
        seen += 1
        if seen > MAX_CONFIG_VALUES:
            return (
                f"more than {MAX_CONFIG_VALUES} values once YAML aliases are expanded "
                "(an alias bomb or a recursive alias?)"
            )
        node = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_CONFIG_INT:
            return "a number is too large for any setting (the limit is 2**53)"
        if isinstance(node, float) and not math.isfinite(node):
            return f"the number {node} is not finite"
        if isinstance(node, str) and not node.isascii() and _SURROGATE.search(node):
            return f"the text {node[:40]!r} holds a lone surrogate (\\ud800-\\udfff)"
        if isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


# No real config nests flow collections ([...] or {...}) this deep, and PyYAML takes seconds on a
# few thousand levels before giving up with a RecursionError: refuse them before parsing.
MAX_FLOW_DEPTH = 64


def flow_depth(text: str) -> int:
    """How deep `[` and `{` nest in the text, counted as if no quotes hid any (an upper bound)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return 0
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}" and depth:
            depth -= 1
    return deepest
