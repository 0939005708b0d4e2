"""A scripted model for evals and tests: reports a case's planted defects, carefully or sloppily.

The model knows the planted defects of one eval case. Asked to review chunks holding a defect's
file, it means to report the defect on the defect's last changed RIGHT line, quoting that line.
In `sloppy` behaviour it then makes the mistakes small and local models make, each at a set rate
and drawn deterministically from the request's text: a line number off by 1 to 5, the wrong
side, a missing optional or required key, prose and code fences around the object, trailing
commas, an answer cut short, the answer in a tool call instead of text. It records what it meant
to report, so that an eval can tell how many intended findings were posted where meant.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.evals.core import EvalCase
from app.plan.diff import Side, parse_diff
from app.review.findings import Finding


class Behaviour(StrEnum):
    """How the scripted model answers."""

    CAREFUL = "careful"  # every planted defect, on its line, in valid JSON
    SLOPPY = "sloppy"  # the same findings, with mistakes at `MistakeRates`


@dataclass(frozen=True, slots=True)
class MistakeRates:
    """The chance of each mistake: per finding (the first five) or per answer (the rest)."""

    line_off: float = 0.35  # the line number is 1 to 5 away from the line meant
    wrong_side: float = 0.10  # LEFT for a RIGHT line
    missing_optional: float = 0.30  # start_line, start_side, suggestion or quote left out
    missing_required: float = 0.10  # path, line, side, severity, category, title or body left out
    unquoted: float = 0.10  # the quote loses its indentation
    prose: float = 0.20  # a sentence before and after the object
    fences: float = 0.20  # the object in a ```json fence
    trailing_commas: float = 0.15  # a comma before every closing bracket
    truncated: float = 0.08  # the answer stops in the middle of its last finding
    tool_call: float = 0.10  # the answer arrives as a tool call's arguments, not as text


CAREFUL = MistakeRates(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
SLOPPY = MistakeRates()
_REQUIRED = ("path", "line", "side", "severity", "category", "title", "body")
_OPTIONAL = ("start_line", "start_side", "suggestion", "quote")
_FILE = re.compile(r"^diff --git a/\S+ b/(\S+)$", re.M)


@dataclass(frozen=True, slots=True)
class Intent:
    """A finding the model meant to post: the defect's marker and its anchor."""

    marker: str  # "[d<case>#<index>]", in the title and the body, to find the finding again
    path: str
    line: int
    side: Side
    category: str


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """One answer: its text, whether it came as a tool call, whether it was cut short."""

    text: str
    tool_call: bool
    truncated: bool


def marker(case_id: str, index: int) -> str:
    """The tag a scripted finding carries in its title and body."""
    return f"[d:{case_id}#{index}]"


@dataclass(slots=True)
class ScriptedModel:
    """Answers review requests for one case; `intents` gathers what it meant to report."""

    case: EvalCase
    behaviour: Behaviour = Behaviour.CAREFUL
    rates: MistakeRates | None = None
    seed: int = 0
    skip_systems: frozenset[str] = frozenset()  # system prompts answered with no findings
    intents: dict[str, Intent] = field(default_factory=dict)
    _lines: dict[tuple[str, int], str] = field(default_factory=dict)  # RIGHT line texts
    _hunk_of: dict[tuple[str, int], str] = field(default_factory=dict)  # its hunk's `@@` line

    def __post_init__(self) -> None:
        for file in parse_diff(self.case.diff):
            for hunk in file.hunks:
                lines = [ln for ln in hunk.text.split("\n")[1:] if ln[:1] in ("+", "-", " ")]
                for anchor, line in zip(hunk.anchors(file.path), lines, strict=False):
                    if anchor.side is Side.RIGHT:
                        self._lines[(file.path, anchor.line)] = line[1:]
                        self._hunk_of[(file.path, anchor.line)] = hunk.text.split("\n", 1)[0]

    def mistakes(self) -> MistakeRates:
        """The rates in force."""
        if self.rates is not None:
            return self.rates
        return SLOPPY if self.behaviour is Behaviour.SLOPPY else CAREFUL

    def answer(self, system: str, conversation: Sequence[str]) -> ModelAnswer:
        """The answer to a request: `conversation` is every message's text, the first the diff."""
        user = conversation[0] if conversation else ""
        draw = random.Random(
            hashlib.sha256(
                "\0".join([str(self.seed), self.case.id, *conversation]).encode()
            ).digest()
        )
        rates = self.mistakes()
        findings: list[dict[str, Any]] = []
        paths = set(_FILE.findall(user))
        if system not in self.skip_systems:
            for index, defect in enumerate(self.case.defects):
                on = [n for (p, n) in self._lines if p == defect.path and defect.start <= n]
                line = max(n for n in on if n <= defect.end)
                if defect.path not in paths or self._hunk_of[(defect.path, line)] not in user:
                    continue  # the defect's hunk is in another request
                tag = marker(self.case.id, index)
                self.intents[tag] = Intent(tag, defect.path, line, Side.RIGHT, defect.category)
                findings.append(self._finding(tag, defect.category, line, draw, rates))
        payload = {"findings": findings, "summary": f"Reviewed {len(paths)} files."}
        return self._serialise(payload, draw, rates)

    def _finding(
        self, tag: str, category: str, line: int, draw: random.Random, rates: MistakeRates
    ) -> dict[str, Any]:
        path = self.intents[tag].path
        quote = self._lines[(path, line)]
        shown = line
        if draw.random() < rates.line_off:
            shown = max(1, line + draw.choice([-1, 1]) * draw.randint(1, 5))
        finding: dict[str, Any] = {
            "path": path,
            "line": shown,
            "start_line": None,
            "side": "LEFT" if draw.random() < rates.wrong_side else "RIGHT",
            "start_side": None,
            "quote": quote.strip() if draw.random() < rates.unquoted else quote,
            "severity": "major",
            "category": category,
            "title": f"Planted defect {tag}",
            "body": f"The change on this line is wrong {tag}.",
            "suggestion": None,
        }
        if draw.random() < rates.missing_optional:
            del finding[draw.choice(_OPTIONAL)]
        if draw.random() < rates.missing_required:
            del finding[draw.choice(_REQUIRED)]
        return finding

    def _serialise(
        self, payload: dict[str, Any], draw: random.Random, rates: MistakeRates
    ) -> ModelAnswer:
        text = json.dumps(payload, indent=1)
        if draw.random() < rates.trailing_commas:
            text = re.sub(r"(?<=[\"\d\]}l])\n(\s*[}\]])", r",\n\1", text)
        truncated = False
        if payload["findings"] and draw.random() < rates.truncated:
            last = text.rfind('"title"')
            text, truncated = text[:last], True
        tool_call = draw.random() < rates.tool_call
        if not tool_call:
            if draw.random() < rates.fences:
                text = f"```json\n{text}\n```"
            if draw.random() < rates.prose:
                text = f"Here is my review.\n\n{text}\n\nLet me know if you need more."
        return ModelAnswer(text, tool_call, truncated)


@dataclass(frozen=True, slots=True)
class IntentTally:
    """Where a scripted model's intended findings ended up."""

    meant: int
    inline_on_line: int  # posted inline on the very line meant
    elsewhere: int  # kept, but off the diff or on another line
    lost: int  # not in the review at all

    @property
    def inline_share(self) -> float | None:
        """inline_on_line / meant."""
        return self.inline_on_line / self.meant if self.meant else None


def tally_intents(intents: Sequence[Intent], findings: Sequence[Finding]) -> IntentTally:
    """Match each intent to the findings carrying its marker, by path, line and side."""
    on_line = elsewhere = 0
    for intent in intents:
        mine = [f for f in findings if intent.marker in f.title or intent.marker in f.body]
        if any(
            f.inline and (f.path, f.line, f.side) == (intent.path, intent.line, intent.side)
            for f in mine
        ):
            on_line += 1
        elif mine:
            elsewhere += 1
    return IntentTally(len(intents), on_line, elsewhere, len(intents) - on_line - elsewhere)
