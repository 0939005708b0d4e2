"""What counts as handled, and a hypothesis driver that collects every unhandled case.

Handled: the target returns (its own checks of the result passed), or it raises a
`TieredReviewError` whose message a user can read. Anything else is unhandled: another
exception type, an error with an empty or raw-dump message, a result that breaks a downstream
contract, or a case that runs past the hard time limit (a hang).
"""

from __future__ import annotations

import random
import re
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis.errors import HypothesisException, NoSuchExample
from hypothesis.strategies import SearchStrategy

from app.errors import TieredReviewError

APP = Path(__file__).resolve().parents[2] / "app"
MAX_MESSAGE = 2000  # longer than this, a message is echoing input rather than explaining it
# Marks of a message that dumps internals instead of explaining: tracebacks, reprs, pydantic's
# own multi-line report.
_RAW = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+| object at 0x[0-9a-f]+"
    r"|validation errors? for \w+|errors\.pydantic\.dev"
)


class Hang(BaseException):
    """Raised by the alarm inside a case that runs past the hard limit.

    A BaseException, so that no `except Exception` in the code under test can swallow it.
    """


class Broken(AssertionError):
    """A target returned, but its result breaks a contract the next step relies on."""


def require(condition: bool, why: str) -> None:
    """Raise Broken with `why` unless `condition` holds."""
    if not condition:
        raise Broken(why)


@dataclass(frozen=True)
class Target:
    """One trust boundary: a strategy of hostile inputs and the code that must handle them."""

    name: str
    strategy: SearchStrategy[Any]
    run: Callable[[Any], object]


@dataclass(frozen=True)
class Failure:
    """One unhandled case."""

    kind: str  # exception type, with "(bad message)" when the type was ours
    where: str  # innermost frame in app/ (or the innermost frame) as path:line
    message: str

    @property
    def signature(self) -> tuple[str, str]:
        """Failures with the same type and place are one bug."""
        return (self.kind, self.where)

    def __str__(self) -> str:
        return f"{self.kind} at {self.where}: {self.message[:300]}"


def message_problem(message: str) -> str | None:
    """Why an error message of ours is not user-facing, or None when it is."""
    if not message.strip():
        return "empty message"
    if len(message) > MAX_MESSAGE:
        return f"{len(message)}-character message"
    raw = _RAW.search(message)
    if raw:
        return f"raw dump in message ({raw.group(0)!r})"
    return None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(str(APP))]
    frame = (ours or frames or [None])[-1]
    if frame is None:
        return "?"
    path = Path(frame.filename)
    try:
        shown = str(path.relative_to(APP.parent))
    except ValueError:
        shown = "/".join(path.parts[-2:])
    return f"{shown}:{frame.lineno}"


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang in this thread after `seconds` (a no-op outside the main thread)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(
    target: Target, value: Any, limit_s: float = 10.0
) -> Failure | TieredReviewError | None:
    """Run one case: None for a valid result, our error for a clean refusal, else the Failure."""
    try:
        with time_limit(limit_s):
            target.run(value)
    except TieredReviewError as exc:
        problem = message_problem(str(exc))
        if problem is None:
            return exc
        return Failure(f"{type(exc).__name__} (bad message: {problem})", _where(exc), str(exc))
    except Hang as exc:
        return Failure("Hang", _where(exc), str(exc))
    except Exception as exc:  # the oracle itself: every other exception is the finding
        return Failure(type(exc).__name__, _where(exc), str(exc) or repr(exc))
    return None


def check(target: Target, value: Any, limit_s: float = 10.0) -> Failure | None:
    """Run one case; None when it was handled, else what went wrong."""
    found = run_case(target, value, limit_s)
    return found if isinstance(found, Failure) else None


@dataclass
class Report:
    """What one target's run found."""

    name: str
    cases: int = 0
    results: int = 0  # handled with a valid result
    refused: int = 0  # handled with one of our errors
    unhandled: int = 0
    slowest_ms: float = 0.0
    slowest: Any = None
    seconds: float = 0.0
    # signature -> (first failure, the shortest example seen, how many cases hit it)
    found: dict[tuple[str, str], tuple[Failure, Any, int]] = field(default_factory=dict)

    def add(self, value: Any, found: Failure | TieredReviewError | None, elapsed_ms: float) -> None:
        """Record one case and what `run_case` said of it."""
        self.cases += 1
        if elapsed_ms > self.slowest_ms:
            self.slowest_ms, self.slowest = elapsed_ms, value
        if not isinstance(found, Failure):
            self.results += found is None
            self.refused += found is not None
            return
        failure = found
        self.unhandled += 1
        first, example, hits = self.found.get(failure.signature, (failure, value, 0))
        if len(repr(value)) < len(repr(example)):
            example = value
        self.found[failure.signature] = (first, example, hits + 1)


def _settings(cases: int, phases: tuple[Phase, ...]) -> settings:
    return settings(
        max_examples=cases,
        database=None,
        deadline=None,  # the hard limit (SIGALRM) and `slowest_ms` stand in for it
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def explore(target: Target, cases: int, run_seed: int, limit_s: float = 10.0) -> Report:
    """Run `cases` generated inputs through `target`, collecting failures instead of stopping."""
    report = Report(target.name)

    @_settings(cases, (Phase.generate,))
    @seed(run_seed)
    @given(target.strategy)
    def one(value: Any) -> None:
        started = time.perf_counter()
        found = run_case(target, value, limit_s)
        report.add(value, found, (time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    one()
    report.seconds = time.perf_counter() - started
    return report


def shrink(target: Target, failure: Failure, run_seed: int, budget: int, limit_s: float) -> Any:
    """A smaller input with the same failure signature, or None when hypothesis finds none."""

    def same(value: Any) -> bool:
        found = check(target, value, limit_s)
        return found is not None and found.signature == failure.signature

    try:
        return find(
            target.strategy,
            same,
            settings=_settings(budget, (Phase.generate, Phase.shrink)),
            random=random.Random(run_seed),
        )
    except NoSuchExample:
        return None
    except HypothesisException:
        # FlakyStrategyDefinition and kin: the failure did not reproduce the same way while
        # shrinking. The unshrunk example still shows it; the bench goes on to its summary.
        return None
