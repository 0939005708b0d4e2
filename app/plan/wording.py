"""How plan figures read to people: dollars and warning messages (the output side of the core).

The planner hands over numbers; the outputs (plan, review summaries, forecasts) word them here,
so a cap reads the same everywhere.
"""

from __future__ import annotations

from app.plan.notices import BudgetWarning, PlanWarning


def usd(value: float) -> str:
    """Dollars for people: cents from $1 up, four decimals below (a $0.002 cap is not $0.00)."""
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def warning_message(warning: PlanWarning) -> str:
    """A warning's message, with its figures formatted."""
    if not isinstance(warning, BudgetWarning):
        return warning.message
    cap = usd(warning.budget_usd)
    if warning.nothing_sent:
        return f"not reviewed: even the smallest review's worst case is over the {cap} budget"
    return (
        f"dropped {len(warning.dropped)} chunks to keep the worst case under {cap} "
        f"(trivial first, then routine, then the largest): {', '.join(warning.dropped)}"
    )
