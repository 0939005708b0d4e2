"""The permission gate of `/review` and `/review deep`."""

from __future__ import annotations

import datetime as dt

import pytest

from app.gh.commands import gate, runs_today

TODAY = dt.date(2026, 11, 28)


@pytest.mark.parametrize(
    ("command", "commenter", "permission", "today_runs", "allowed"),
    [
        ("review deep", "maint", "maintain", 0, True),
        ("review deep", "writer", "write", 0, True),
        ("review deep", "owner-but-read", "read", 0, False),  # OWNER association, read access
        ("review deep", "alice", "none", 0, False),  # even the PR's author
        ("review", "alice", "read", 0, True),  # the author
        ("review", "alice", "read", 3, False),  # the author over the daily limit
        ("review", "writer", "write", 9, True),  # writers are not limited
        ("review", "mallory", "none", 0, False),
        ("review", "mallory", "triage", 0, False),
    ],
)
def test_gate(
    command: str, commenter: str, permission: str, today_runs: int, allowed: bool
) -> None:
    result = gate(
        command,
        commenter=commenter,
        author="alice",
        permission=permission,  # type: ignore[arg-type]
        accepted_today=today_runs,
        daily_limit=3,
        today=TODAY,
        estimate_usd=0.42,
    )
    assert result.allowed is allowed
    assert f"@{commenter}" in result.reply
    if allowed:
        assert runs_today([result.reply], TODAY) == 1
        assert runs_today([result.reply], TODAY + dt.timedelta(days=1)) == 0
    else:
        assert runs_today([result.reply], TODAY) == 0


def test_deep_reply_states_the_estimate_and_honours_its_cap() -> None:
    ok = gate(
        "review deep",
        commenter="m",
        author="a",
        permission="admin",
        accepted_today=0,
        daily_limit=3,
        today=TODAY,
        estimate_usd=0.1234,
    )
    assert "$0.1234" in ok.reply
    capped = gate(
        "review deep",
        commenter="m",
        author="a",
        permission="admin",
        accepted_today=0,
        daily_limit=3,
        today=TODAY,
        estimate_usd=2.0,
        deep_cap_usd=1.0,
    )
    assert not capped.allowed and "$1.00" in capped.reply
