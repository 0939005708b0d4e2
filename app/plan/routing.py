"""Routing: ordered rules pick a tier for each task; the privacy guard runs after, outside them."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import ConfigError, RoutingError
from app.plan.catalog import Catalog, ModelSpec
from app.plan.config import Config, Difficulty, Mode, Task
from app.plan.tiers import Tier

PRIVACY_RULE = "privacy-guard"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a task goes: the tier, its model, and the rule that decided."""

    tier: Tier
    model: ModelSpec
    rule: str


@dataclass(frozen=True, slots=True)
class Router:
    """The rule table bound to resolved tier models."""

    config: Config
    models: dict[str, ModelSpec]  # tier -> spec, for configured tiers only

    def route(
        self, task: Task, difficulty: Difficulty | None, mode: Mode, private: bool
    ) -> Route | None:
        """First matching rule wins; then private content may only go to a `local` model.

        None means the task cannot be routed without leaking private code (no local tier).
        """
        chosen: Route | None = None
        for rule in self.config.rules:
            if rule.tier not in self.models:
                continue  # e.g. the private rule when no local tier is configured
            if rule.task is not None and rule.task is not task:
                continue
            if rule.difficulty is not None and rule.difficulty is not difficulty:
                continue
            if rule.mode is not None and rule.mode is not mode:
                continue
            if rule.private is not None and rule.private is not private:
                continue
            chosen = Route(rule.tier, self.models[rule.tier], rule.id)
            break
        if chosen is None:
            raise RoutingError(f"no rule matches task {task} ({difficulty}); add a catch-all")
        return guard_privacy(chosen, private, self.models.get(Tier.LOCAL))

    def tier(self, tier: Tier) -> Route:
        """A fixed tier, as used by window moves."""
        return Route(tier, self.models[tier], tier.value)


def guard_privacy(route: Route, private: bool, local: ModelSpec | None) -> Route | None:
    """Private content goes to a `local` model or nowhere, whatever the rules said."""
    if not private or route.model.provider == "local":
        return route
    if local is None:
        return None
    return Route(Tier.LOCAL, local, PRIVACY_RULE)


def build_router(config: Config, catalog: Catalog) -> Router:
    """Resolve each configured tier's model, failing on unknown providers or models."""
    models = {name: catalog.get(tier.model) for name, tier in sorted(config.tiers.items())}
    for name, tier in sorted(config.tiers.items()):
        if tier.alternate:
            catalog.get(tier.alternate)
        if name == Tier.LOCAL and models[name].provider != "local":
            raise ConfigError(
                f"tiers.local.model: {tier.model!r} is not a local model; private code may only "
                "go to the 'local' provider"
            )
    for rule in config.rules:
        if rule.tier not in models and rule.tier is not Tier.LOCAL:
            name = rule.tier.value
            raise RoutingError(f"rule {rule.id!r} routes to tier {name!r}, which is not set")
    return Router(config=config, models=models)
