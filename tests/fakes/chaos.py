"""Seeded random faults for the fakes: each request fails with a fixed probability.

A draw depends only on the seed, the request's identity (its method, path and body) and how many
times that identity was seen before, never on which thread asked first: the same requests give
the same faults whatever order concurrent clients send them in, and a retry of a request draws
afresh, as it would against a real flaky service.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_SCALE = float(2**64)


@dataclass(frozen=True, slots=True)
class Draw:
    """One injected fault: its kind and a uniform number in [0, 1) to size it (a delay)."""

    kind: str
    fraction: float


class Chaos:
    """Fail a `rate` share of requests with a kind chosen evenly from `kinds`; thread-safe."""

    def __init__(self, rate: float, kinds: Sequence[str], seed: int = 0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], not {rate}")
        if rate > 0 and not kinds:
            raise ValueError("a positive rate needs at least one fault kind")
        self.rate = rate
        self.kinds = tuple(kinds)
        self.seed = seed
        self._lock = threading.Lock()
        self._seen: Counter[str] = Counter()
        self._injected: Counter[str] = Counter()
        self._draws = 0

    def draw(self, identity: str, kinds: Sequence[str] | None = None) -> Draw | None:
        """The fault for the next request with this identity, or None; `kinds` narrows the set."""
        choices = tuple(self.kinds if kinds is None else kinds)
        with self._lock:
            occurrence = self._seen[identity]
            self._seen[identity] += 1
            self._draws += 1
        digest = hashlib.sha256(f"{self.seed}\0{identity}\0{occurrence}".encode()).digest()
        if not choices or _uniform(digest, 0) >= self.rate:
            return None
        kind = choices[int.from_bytes(digest[8:16], "big") % len(choices)]
        with self._lock:
            self._injected[kind] += 1
        return Draw(kind, _uniform(digest, 16))

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far, sorted by kind."""
        with self._lock:
            return dict(sorted(self._injected.items()))

    @property
    def draws(self) -> int:
        """How many requests asked for a draw."""
        with self._lock:
            return self._draws


def _uniform(digest: bytes, offset: int) -> float:
    return int.from_bytes(digest[offset : offset + 8], "big") / _SCALE
