"""The scripted model: what it means to report, and each mistake at its set rate."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.evals.core import EvalCase, load_cases
from app.evals.sloppy import CAREFUL, Behaviour, ModelAnswer, ScriptedModel, tally_intents
from app.plan.planner import build_plan
from app.review.findings import parse_output, place
from tests.conftest import ROOT, InputsFactory

CASE_DIR = ROOT / "app" / "data" / "evals"


@pytest.fixture(scope="module")
def case() -> EvalCase:
    (found,) = [c for c in load_cases(CASE_DIR) if c.id == "bugfix-monthly-report-bounds"]
    return found


def ask(model: ScriptedModel, make_inputs: InputsFactory, salt: str = "") -> ModelAnswer:
    plan = build_plan(model.case.diff, make_inputs())
    path = model.case.defects[0].path
    review = next(
        p.request for p in plan.requests if p.request.task == "review" and path in p.request.user
    )
    return model.answer(review.system, [review.user + salt])


def test_a_careful_model_reports_each_defect_on_its_last_line(
    case: EvalCase, make_inputs: InputsFactory
) -> None:
    model = ScriptedModel(case, Behaviour.CAREFUL)
    answer = ask(model, make_inputs)
    data = json.loads(answer.text)
    assert not answer.tool_call and not answer.truncated
    assert len(data["findings"]) == len(case.defects) == len(model.intents)
    for finding, defect in zip(data["findings"], case.defects, strict=True):
        assert finding["line"] <= defect.end and finding["category"] == defect.category
        assert finding["side"] == "RIGHT" and finding["quote"]
    chunks = list(build_plan(case.diff, make_inputs()).chunks)
    placed = place(parse_output(answer.text).output, chunks, "r")
    tally = tally_intents(list(model.intents.values()), placed)
    assert tally.inline_on_line == tally.meant == len(case.defects)


@pytest.mark.parametrize(
    ("mistake", "check"),
    [
        ("line_off", lambda a, f: any(1 <= abs(x["line"] - y["line"]) <= 5 for x, y in f)),
        ("wrong_side", lambda a, f: all(x["side"] == "LEFT" for x, _ in f)),
        ("missing_optional", lambda a, f: all(len(x) == len(y) - 1 for x, y in f)),
        ("missing_required", lambda a, f: all(len(x) == len(y) - 1 for x, y in f)),
        ("prose", lambda a, f: a.text.startswith("Here is my review")),
        ("fences", lambda a, f: a.text.startswith("```json\n")),
        ("trailing_commas", lambda a, f: ",\n}" in a.text or ",\n ]" in a.text),
        ("truncated", lambda a, f: a.truncated and not a.text.rstrip().endswith("}")),
        ("tool_call", lambda a, f: a.tool_call),
    ],
)
def test_each_mistake_happens_at_its_rate(
    case: EvalCase, make_inputs: InputsFactory, mistake: str, check: object
) -> None:
    careful = ask(ScriptedModel(case, Behaviour.CAREFUL), make_inputs)
    model = ScriptedModel(case, Behaviour.SLOPPY, rates=replace(CAREFUL, **{mistake: 1.0}))
    sloppy = ask(model, make_inputs)
    assert sloppy.text != careful.text or sloppy.tool_call
    pairs = []
    if mistake not in ("prose", "fences", "trailing_commas", "truncated"):
        pairs = list(
            zip(
                json.loads(sloppy.text)["findings"],
                json.loads(careful.text)["findings"],
                strict=True,
            )
        )
    assert check(sloppy, pairs)  # type: ignore[operator]
    never = ScriptedModel(case, Behaviour.SLOPPY, rates=replace(CAREFUL, **{mistake: 0.0}))
    assert ask(never, make_inputs) == careful


def test_the_draws_are_deterministic_and_vary_with_the_request(
    case: EvalCase, make_inputs: InputsFactory
) -> None:
    first = [ask(ScriptedModel(case, Behaviour.SLOPPY), make_inputs, str(i)) for i in range(20)]
    again = [ask(ScriptedModel(case, Behaviour.SLOPPY), make_inputs, str(i)) for i in range(20)]
    assert first == again
    assert len({a.text for a in first}) > 10
    reseeded = [
        ask(ScriptedModel(case, Behaviour.SLOPPY, seed=1), make_inputs, str(i)) for i in range(20)
    ]
    assert reseeded != first
