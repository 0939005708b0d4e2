"""Whole plans: a 10,000-line formatter run is trivial; a multi-line signature is public surface."""

from __future__ import annotations

from app.plan.config import Difficulty, Task
from app.plan.planner import build_plan
from tests.conftest import InputsFactory
from tests.plan.facts.helpers import file_diff


def _module(index: int, black: bool) -> str:
    """A module of small functions, before (compact, single quotes) or after a black run."""
    out = [f'"""Helpers of part {index}."""\n', "import os\n"]
    for n in range(40):
        if black:
            out.append(
                f"\n\ndef handler_{n}(\n    request,\n    timeout=30,\n    retries=3,\n):\n"
                f'    return {{"path": os.path.join("a", "b"), "n": {n}}}\n'
            )
        else:
            out.append(
                f"\ndef handler_{n}(request,timeout=30,retries=3):\n"
                f"    return {{'path':os.path.join('a','b'),'n':({n})}}\n"
            )
    return "".join(out)


def test_a_ten_thousand_line_formatter_run_is_trivial(make_inputs: InputsFactory) -> None:
    diff = "".join(
        file_diff(f"pkg{i % 9}/part_{i}.py", _module(i, False), _module(i, True)) for i in range(36)
    )
    changed = sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    assert changed >= 10_000
    plan = build_plan(diff, make_inputs())
    assert plan.chunks and all(c.difficulty is Difficulty.TRIVIAL for c in plan.chunks)
    assert all("mechanical.format_only" in c.signals for c in plan.chunks)
    tiers = {r.request.route.tier for r in plan.requests}
    assert tiers == {"small"}
    assert not any(r.request.task is Task.CROSS_CUTTING for r in plan.requests)


def test_a_multi_line_signature_change_is_planned_as_public_surface(
    make_inputs: InputsFactory,
) -> None:
    old = (
        "import ssl\n\n\ndef create_urllib3_context(\n    ssl_version=None,\n    cert_reqs=None,\n"
        "    options=None,\n    ciphers=None,\n) -> ssl.SSLContext:\n    context = build()\n"
        "    return context\n"
    )
    new = old.replace("    ciphers=None,\n", "    ciphers=None,\n    *,\n    verify_flags=None,\n")
    plan = build_plan(file_diff("src/urllib3/util/context.py", old, new), make_inputs())
    (chunk,) = plan.chunks
    assert chunk.difficulty is Difficulty.ARCHITECTURAL
    assert chunk.signals[0] == "surface.signature", chunk.reasons
    assert "verify_flags" in chunk.reasons[0] or "verify_flags" in " ".join(chunk.reasons)
    assert any(r.request.route.tier == "frontier" for r in plan.requests)
