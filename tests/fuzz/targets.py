"""The fuzz targets: each trust boundary driven from the outside, as its real caller drives it.

- `plan`: diff bytes -> `decode_diff` -> `build_plan` -> the plan's JSON and table, as
  `tiered-review plan` runs them; every request must be sendable (UTF-8) by the SDKs.
- `webhook`: a delivery -> `verify_signature` -> `parse_json` -> `classify` -> the queued job's
  spec and JSON payload, as the App's `/webhook` handler runs them.
- `webhook_app`: the same deliveries posted to the real FastAPI app (SQLite queue, no workers):
  any 5xx or exception is unhandled.
- `config`: file bytes -> `load_config` (the `--config` loader: `parse_repo_config` +
  `build_config`) -> `load_catalog` -> a plan of a small diff under that config.
- `output`: a model's answer -> `parse_output` (the validator the engine calls) ->
  `place` on the example diff's chunks -> the inline comment payloads for GitHub.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from rich.console import Console

from app.gh.decision import Decision, JobDecision
from app.gh.webhooks import SkipRules, classify, parse_json, verify_signature
from app.plan.chunks import Chunk
from app.plan.config import build_config
from app.plan.diff import decode_diff
from app.plan.output import plan_json, print_table
from app.plan.planner import Plan, PlanInputs, build_plan
from app.plan.tokens import load_counter
from app.resources import default_config_data, load_catalog, load_config, load_prompts
from app.review.findings import Finding, parse_output, place
from app.review.publish import comment_payload
from app.server.job_spec import JobSpec
from tests.fuzz.configs import config_files
from tests.fuzz.diffs import ROOT, diffs
from tests.fuzz.oracle import Target, require
from tests.fuzz.outputs import answers
from tests.fuzz.payloads import SECRET, Delivery, deliveries

TODAY = dt.date(2026, 11, 27)
NAMES = ("plan", "webhook", "webhook_app", "config", "output")
RULES = SkipRules(
    bot_login="tiered-review[bot]",
    bot_authors=frozenset({"dependabot[bot]"}),
    skip_labels=frozenset({"no-review"}),
)
# A small diff touching code, docs and CI, planned under every fuzzed config.
SMALL_DIFF = b"".join(
    (ROOT / "tests/fixtures/hunks" / name).read_bytes()
    for name in ("17-medium-click-short-help.diff", "01-docs-flask-installation.diff")
)


@cache
def plan_inputs() -> PlanInputs:
    """The defaults, the packaged catalog and prompts, and tiktoken's counter."""
    config = build_config(default_config_data(), {}, "defaults")
    counter, warning = load_counter()
    if warning:
        raise RuntimeError(f"tiktoken could not load its files: {warning}")
    return PlanInputs(
        config=config,
        catalog=load_catalog(config),
        prompts=load_prompts(),
        counter=counter,
        today=TODAY,
    )


@cache
def example_chunks() -> tuple[Chunk, ...]:
    """The example PR's chunks: the diff model answers are placed on."""
    text = (ROOT / "examples" / "pr.diff").read_text("utf-8")
    return tuple(c for c in build_plan(text, plan_inputs()).chunks if c.reviewable)


def vars_of(value: Any) -> list[Any]:
    """The field values of a slotted dataclass."""
    return [getattr(value, name) for name in value.__slots__]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_plan(plan: Plan) -> None:
    json.dumps(plan_json(plan, 0.0))
    print_table(plan, 0.0, Console(file=io.StringIO(), width=160, color_system=None), explain=True)
    for planned in plan.requests:
        r = planned.request
        sent = r.system + r.instructions + r.user
        require(_utf8(sent), f"request {r.id} holds text the SDKs cannot encode as UTF-8")


def plan_diff(data: bytes) -> Plan:
    """What `tiered-review plan` does with a diff's bytes."""
    plan = build_plan(decode_diff(data), plan_inputs())
    _check_plan(plan)
    return plan


def handle_delivery(delivery: Delivery) -> Decision | None:
    """What `/webhook` does before the queue; None for a delivery it refuses (401)."""
    verified = verify_signature(SECRET, delivery.body, delivery.signature)
    require(
        verified == delivery.signed, f"signature check said {verified}, expected {delivery.signed}"
    )
    if not verified:
        return None
    decision = classify(delivery.event, parse_json(delivery.body), RULES)
    require(bool(decision.reason), "a decision without a reason")
    # The server answers with the reason as JSON, logs it and queues the fields: all UTF-8.
    texts = [v for v in vars_of(decision) if isinstance(v, str)]
    if isinstance(decision, JobDecision):
        texts += [v for v in vars_of(decision.pull) if isinstance(v, str)]
    require(all(_utf8(t) for t in texts), "a decision holds text that cannot be encoded as UTF-8")
    if isinstance(decision, JobDecision):
        require(bool(decision.pull.owner and decision.pull.repo), "no repository")
        spec = JobSpec.from_decision(decision)
        stored = json.loads(json.dumps(spec.to_payload()))
        require(JobSpec.from_payload(stored) == spec, "the queued payload does not round-trip")
    return decision


def load_repo_config(data: bytes, folder: Path) -> Plan:
    """What `tiered-review plan --config FILE` does with the file's bytes, up to a plan."""
    path = folder / "tiered-review.yml"
    path.write_bytes(data)
    config = load_config(path)
    inputs = plan_inputs()
    plan = build_plan(
        decode_diff(SMALL_DIFF),
        PlanInputs(config, load_catalog(config), inputs.prompts, inputs.counter, TODAY),
    )
    _check_plan(plan)
    return plan


def read_answer(text: str) -> list[Finding]:
    """What the engine does with a model's answer, up to GitHub's comment payloads."""
    placed = place(parse_output(text).output, example_chunks(), "review-middle-01")
    for finding in placed:
        shown = finding.title + finding.body + (finding.suggestion or "") + finding.path
        require(_utf8(shown), "a finding holds text that cannot be posted or printed (not UTF-8)")
        if finding.inline:
            json.dumps(comment_payload(finding))
    return placed


def anchors() -> list[tuple[str, int, str]]:
    """Every (path, line, side) of the example chunks."""
    return [(a.path, a.line, a.side.value) for c in example_chunks() for a in c.anchors()]


@contextmanager
def _app_target(folder: Path) -> Iterator[Target]:
    """Deliveries posted to the real FastAPI app over an in-process ASGI client."""
    from starlette.testclient import TestClient

    from app.server.http import ServerParts, create_app
    from app.server.metrics import Metrics
    from app.server.worker import PoolOptions
    from app.store.db import open_database
    from app.store.queue import JobQueue

    async def handle(_job: Any) -> str:
        return "not run"

    engine = open_database(str(folder / "queue.db"))
    parts = ServerParts(SECRET, JobQueue(engine), RULES, handle, Metrics(), PoolOptions(), False)
    numbers = itertools.count()

    def post(delivery: Delivery) -> int:
        # Header values go on the wire as bytes: whatever UTF-8 a client sends, minus controls.
        event = "".join(c for c in delivery.event if c.isprintable()).encode()
        headers = {b"X-GitHub-Event": event, b"Content-Type": b"application/json"}
        headers[b"X-GitHub-Delivery"] = f"fuzz-{next(numbers)}".encode()
        if delivery.signature is not None:
            headers[b"X-Hub-Signature-256"] = delivery.signature.encode()
        status = client.post("/webhook", content=delivery.body, headers=headers).status_code
        require(status in (200, 202, 400, 401, 413), f"/webhook answered {status}")
        return status

    try:
        with TestClient(create_app(parts)) as client:
            yield Target("webhook_app", deliveries(), post)
    finally:
        engine.dispose()


@contextmanager
def targets(names: Sequence[str] = NAMES) -> Iterator[dict[str, Target]]:
    """The named targets, with their temporary folders and app set up, torn down after."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fuzz-")))
        out: dict[str, Target] = {}
        for name in names:
            if name == "plan":
                out[name] = Target(name, diffs(), plan_diff)
            elif name == "webhook":
                out[name] = Target(name, deliveries(), handle_delivery)
            elif name == "webhook_app":
                out[name] = stack.enter_context(_app_target(folder))
            elif name == "config":
                out[name] = Target(name, config_files(), lambda d: load_repo_config(d, folder))
            elif name == "output":
                out[name] = Target(name, answers(anchors()), read_answer)
            else:
                raise ValueError(f"unknown target {name!r}: targets are {', '.join(NAMES)}")
        yield out
