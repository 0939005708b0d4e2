"""Loopback fakes of the LLM provider APIs, served by uvicorn for the real SDK clients."""

from tests.fakes.anthropic_fake import anthropic_fake, make_anthropic_app
from tests.fakes.chaos import Chaos, Draw
from tests.fakes.llm_common import (
    CHAOS_KINDS,
    DEFAULT_MIN_CACHEABLE,
    DEFAULT_TEXT,
    FAULT_KINDS,
    CacheEmulator,
    CacheWrite,
    FakeLLM,
    Fault,
    FaultKind,
    FaultPlan,
    RecordedRequest,
    RequestLog,
    Responder,
    count_tokens,
    default_responder,
    sha256_hex,
)
from tests.fakes.openai_fake import make_openai_app, openai_fake
from tests.fakes.server import serve

__all__ = [
    "CHAOS_KINDS",
    "DEFAULT_MIN_CACHEABLE",
    "DEFAULT_TEXT",
    "FAULT_KINDS",
    "CacheEmulator",
    "CacheWrite",
    "Chaos",
    "Draw",
    "FakeLLM",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RecordedRequest",
    "RequestLog",
    "Responder",
    "anthropic_fake",
    "count_tokens",
    "default_responder",
    "make_anthropic_app",
    "make_openai_app",
    "openai_fake",
    "serve",
    "sha256_hex",
]
