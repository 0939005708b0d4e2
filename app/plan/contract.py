"""The review answer's contract as data: the JSON schema models follow and the tool carrying it.

The schema is strict-mode shaped (OpenAI structured outputs; Anthropic tool input): every
property required, the optional ones nullable, no additional properties. The tool definition is
sent first in Anthropic's prefix (tools -> system -> messages), so its canonical text is part of
the prefix fingerprint: changing the contract changes the fingerprint, as changing a prompt does.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any, Literal, get_args

REVIEW_TOOL_NAME = "submit_review"
REVIEW_TOOL_DESCRIPTION = "Submit the review: the findings and the summary."
# The answer's closed vocabularies, as types for the validation (app.review.findings) and as
# tuples for the schema: one list of each.
SideName = Literal["RIGHT", "LEFT"]
Severity = Literal["critical", "major", "minor", "nit"]  # in order, most severe first
Category = Literal[
    "bug",
    "security",
    "performance",
    "concurrency",
    "api",
    "config",
    "maintainability",
    "tests",
    "docs",
]
SIDES: tuple[str, ...] = get_args(SideName)
SEVERITIES: tuple[str, ...] = get_args(Severity)
CATEGORIES: tuple[str, ...] = get_args(Category)


def output_schema() -> dict[str, Any]:
    """The answer's JSON schema (a fresh copy: callers may not change the shared one)."""
    return copy.deepcopy(_schema())


@functools.cache
def tool_text() -> str:
    """The tool definition's canonical text, as the prefix fingerprint hashes it."""
    return json.dumps(review_tool(_schema()), ensure_ascii=False, separators=(",", ":"))


@functools.cache
def _schema() -> dict[str, Any]:
    # Written out, not generated: pydantic's schema has defaults and anyOf that strict modes reject.
    finding: dict[str, Any] = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "line": {"type": "integer"},
            "side": {"type": "string", "enum": list(SIDES)},
            "quote": {"type": "string"},
            "start_line": {"type": ["integer", "null"]},
            "start_side": {"type": ["string", "null"], "enum": [*SIDES, None]},
            "severity": {"type": "string", "enum": list(SEVERITIES)},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "suggestion": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
    }
    finding["required"] = list(finding["properties"])
    return {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": finding},
            "summary": {"type": "string"},
        },
        "required": ["findings", "summary"],
        "additionalProperties": False,
    }


def review_tool(schema: dict[str, Any]) -> dict[str, Any]:
    """The tool a model is forced to call with its answer."""
    return {
        "name": REVIEW_TOOL_NAME,
        "description": REVIEW_TOOL_DESCRIPTION,
        "input_schema": schema,
    }
