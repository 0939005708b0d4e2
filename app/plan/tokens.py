"""Token counting: o200k via tiktoken, exact for OpenAI models; a per-model factor for others."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from app.plan.catalog import ModelSpec, TokenizerKind

log = logging.getLogger(__name__)

# Bytes per token for the fallback estimate: o200k averages about 4 bytes a token on English and
# 3.5 on code; 3 keeps the estimate above the real count for window and budget checks.
_FALLBACK_BYTES_PER_TOKEN = 3


@dataclass(frozen=True, slots=True)
class TokenCounter:
    """Counts o200k tokens of a text; `exact` is False for the byte-based fallback."""

    count: Callable[[str], int]
    exact: bool
    name: str


def estimate_tokens(text: str) -> int:
    """A byte-based upper estimate of the o200k count, used when tiktoken cannot load."""
    return math.ceil(len(text.encode("utf-8", "surrogatepass")) / _FALLBACK_BYTES_PER_TOKEN)


FALLBACK_COUNTER = TokenCounter(count=estimate_tokens, exact=False, name="bytes/3")


def load_counter() -> tuple[TokenCounter, str | None]:
    """tiktoken's o200k counter, or the byte fallback and a warning when its files cannot load."""
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("o200k_base")
    except Exception as exc:  # noqa: BLE001 - any failure to load BPE files means "offline"
        message = (
            f"tiktoken could not load o200k_base ({type(exc).__name__}); token counts are "
            "byte-based estimates. Set TIKTOKEN_CACHE_DIR to a folder with the BPE files."
        )
        log.warning(message)
        return FALLBACK_COUNTER, message

    def count(text: str) -> int:
        return len(encoding.encode_ordinary(text))

    return TokenCounter(count=count, exact=True, name="o200k_base"), None


def model_tokens(o200k: int, spec: ModelSpec) -> int:
    """The typical token count of a text for `spec`, from its o200k count."""
    if spec.tokenizer is TokenizerKind.O200K:
        return o200k
    return math.ceil(o200k * spec.factor)


def model_tokens_max(o200k: int, spec: ModelSpec) -> int:
    """The upper bound of a text's token count for `spec`, for window and budget checks."""
    if spec.tokenizer is TokenizerKind.O200K:
        return o200k
    return math.ceil(o200k * spec.factor_max)


def is_exact(spec: ModelSpec, counter: TokenCounter) -> bool:
    """Whether counts for `spec` are its own tokenizer's, not an estimate."""
    return counter.exact and spec.tokenizer is TokenizerKind.O200K
