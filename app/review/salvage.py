"""Salvaging the JSON object out of a model's answer: prose, fences, trailing commas, a cut end.

Small and local models wrap the object in prose or a code fence, leave a comma before a closing
bracket, or stop mid-answer at the output limit. `salvage_json` finds the first object, drops
those commas (outside strings only), ignores whatever follows the object, and when the answer
ends inside the object cuts it back to the last complete value and closes what is open.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_CLOSER = {"{": "}", "[": "]"}


class NoJSONError(ValueError):
    """No JSON object can be read from the answer; the message says why."""


@dataclass(frozen=True, slots=True)
class Salvaged:
    """The object read; whether the answer ended inside it, and inside one of its list's items."""

    data: dict[str, Any]
    cut_short: bool
    partial_item: bool = False  # the last item of a list is incomplete (its end was cut)


def salvage_json(text: str) -> Salvaged:
    """The first JSON object in `text`, repaired as described in the module docstring."""
    start = text.find("{")
    if start < 0:
        raise NoJSONError("the answer contains no JSON object")
    # A fence before the object is skipped by starting at its brace and one after it is never
    # read; backticks inside strings are content (a suggestion may hold a fence) and are kept.
    body = text[start:]
    out: list[str] = []
    stack: list[str] = []
    safe = 0  # output length after the last complete value inside the object
    safe_stack: list[str] = []
    in_string = escaped = is_key = False
    last = previous = ""  # the last character outside strings that is not whitespace
    for ch in body:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                last = '"'
                if not is_key:  # a complete value; a key without its value is not
                    safe, safe_stack = len(out), list(stack)
            continue
        if ch == "`":  # a stray fence mark between values, outside every string
            continue
        if not ch.isspace():
            last, previous = ch, last
        if ch == '"':
            in_string = True
            is_key = bool(stack) and stack[-1] == "{" and previous in "{,"
        elif ch in _CLOSER:
            stack.append(ch)
        elif ch in "}]":
            _drop_trailing_comma(out)
            if not stack or _CLOSER[stack[-1]] != ch:
                raise NoJSONError(f"not valid JSON: an unexpected {ch!r}")
            stack.pop()
            out.append(ch)
            if not stack:
                return Salvaged(_load("".join(out)), cut_short=False)
            safe, safe_stack = len(out), list(stack)
            continue
        out.append(ch)
    # The answer ended inside the object: keep what was complete, close what was open.
    kept = out[:safe]
    _drop_dangling(kept)
    closed = "".join(kept) + "".join(_CLOSER[c] for c in reversed(safe_stack))
    if not safe_stack:
        raise NoJSONError("the answer was cut before its JSON object had any content")
    return Salvaged(_load(closed), cut_short=True, partial_item=len(safe_stack) >= 3)


def _drop_trailing_comma(out: list[str]) -> None:
    i = len(out) - 1
    while i >= 0 and out[i].isspace():
        i -= 1
    if i >= 0 and out[i] == ",":
        del out[i:]


def _drop_dangling(out: list[str]) -> None:
    """Remove a trailing `,` or a key left without its value (`"key":`) after a cut."""
    text = "".join(out).rstrip()
    text = re.sub(r'(,\s*)?"(?:[^"\\]|\\.)*"\s*:\s*$', "", text)
    text = re.sub(r"[,:]\s*$", "", text)
    out[:] = list(text)


def _load(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NoJSONError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except ValueError as exc:  # a number past Python's 4,300-digit int conversion limit
        raise NoJSONError("not valid JSON: a number has too many digits") from exc
    except RecursionError as exc:
        raise NoJSONError("not valid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise NoJSONError("the answer's JSON is not an object")
    return data
