"""Prometheus metrics of the App server, in a registry per process (no global state)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from app.review.result import ReviewResult


@dataclass
class Metrics:
    """The server's counters, gauges and histograms."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.role = Gauge("tiered_review_role", "This process's serve --role", ["role"], registry=r)
        self.deliveries = Counter(
            "tiered_review_deliveries", "Webhook deliveries", ["event", "outcome"], registry=r
        )
        self.queue_depth = Gauge(
            "tiered_review_queue_depth", "Jobs by state", ["state"], registry=r
        )
        self.job_seconds = Histogram(
            "tiered_review_job_seconds",
            "Job durations",
            ["kind", "outcome"],
            registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
        )
        self.tokens = Counter(
            "tiered_review_tokens",
            "Tokens by tier, provider, task and kind",
            ["tier", "provider", "task", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "tiered_review_cost_usd",
            "Actual cost by tier, provider and task",
            ["tier", "provider", "task"],
            registry=r,
        )
        self.cache_reads = Counter(
            "tiered_review_cache_read_tokens",
            "Cache-read tokens after the first request per prefix",
            ["provider"],
            registry=r,
        )
        self.cache_prefix = Counter(
            "tiered_review_cache_prefix_tokens",
            "Prefix tokens sent after the first request per prefix",
            ["provider"],
            registry=r,
        )
        self.routing_ms = Histogram(
            "tiered_review_routing_ms",
            "Time to build a plan (ms)",
            registry=r,
            buckets=(1, 5, 10, 25, 50, 100, 250, 1000),
        )

    def record_review(self, result: ReviewResult, routing_ms: float) -> None:
        """Add one finished review's tokens, cost and cache figures."""
        self.routing_ms.observe(routing_ms)
        for o in result.requests:
            labels = (o.tier, o.provider, o.task.value)
            usage = o.usage
            for kind, n in (
                ("fresh", usage.fresh_input_tokens),
                ("cache_write", usage.cache_write_tokens),
                ("cache_read", usage.cache_read_tokens),
                ("output", usage.output_tokens),
            ):
                self.tokens.labels(*labels, kind).inc(n)
            self.cost.labels(*labels).inc(o.cost_usd)
            if not o.first_of_prefix and o.status not in ("failed", "skipped"):
                self.cache_reads.labels(o.provider).inc(usage.cache_read_tokens)
                self.cache_prefix.labels(o.provider).inc(o.prefix_tokens)

    def render(self) -> bytes:
        """The exposition text for `GET /metrics`."""
        return generate_latest(self.registry)
