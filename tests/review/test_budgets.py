"""Budgets in the App: the deep-review cap from the repo config, the daily cap from the ledger."""

from __future__ import annotations

import copy

from app.plan.wording import usd
from app.store.ledger import spent_since
from tests.conftest import EXAMPLE_DIFF
from tests.review.test_pull_request import pr_files
from tests.server.test_http import NUMBER, OWNER, REPO, App, _command, app, payload  # noqa: F401

BASE = "b" * 40  # the fixture PR's base commit, where the bot reads its config


def test_a_deep_review_over_the_repositorys_cap_is_refused_saying_so(app: App) -> None:  # noqa: F811
    app.gh.set_file(
        OWNER, REPO, BASE, ".github/tiered-review.yml", "budget:\n  max_usd_per_deep_review: 0.01\n"
    )
    app.gh.set_permission(OWNER, REPO, "maintainer", "maintain")
    asked = app.deliver("issue_comment", _command("/review deep", "maintainer", 501), "d-1")
    assert app.wait(asked.json()["job_id"]) == "done"
    assert app.gh.reviews(OWNER, REPO, NUMBER) == []
    (reply,) = app.gh.issue_comments(OWNER, REPO, NUMBER)
    assert "over this repository's deep-review cap of $0.01. Nothing was run." in reply["body"]
    assert "a deep review would cost up to $" in reply["body"]


def test_the_daily_cap_counts_the_tenants_spend_from_the_ledger(app: App) -> None:  # noqa: F811
    first = app.deliver("pull_request", payload("pull_request.opened.json"), "d-1")
    assert app.wait(first.json()["job_id"]) == "done"
    (sticky,) = app.gh.issue_comments(OWNER, REPO, NUMBER)
    assert "daily budget" not in sticky["body"]  # no cap configured: no note
    spent = _ledger_spend(app)
    assert spent > 0
    cap = round(spent * 1.01, 6)
    app.gh.set_file(
        OWNER, REPO, BASE, ".github/tiered-review.yml", f"budget:\n  max_usd_per_day: {cap}\n"
    )
    # A new push today: about 1% of the day is left, less than the smallest review.
    head = "e" * 40
    app.gh.push(OWNER, REPO, NUMBER, new_head_sha=head, files=pr_files(EXAMPLE_DIFF.read_text()))
    data = copy.deepcopy(payload("pull_request.synchronize.json"))
    data["pull_request"]["head"]["sha"] = head
    data["after"] = head
    second = app.deliver("pull_request", data, "d-2")
    assert app.wait(second.json()["job_id"]) == "done"
    (sticky,) = app.gh.issue_comments(OWNER, REPO, NUMBER)
    assert f"daily budget: {usd(cap - spent)} of {usd(cap)} left today" in sticky["body"]
    assert "not reviewed: even the smallest review's worst case is over" in sticky["body"]
    assert _ledger_spend(app) == spent  # the second run sent nothing and cost nothing


def _ledger_spend(app: App) -> float:  # noqa: F811
    assert app.engine is not None
    return spent_since(app.engine, "1", 0.0)  # the fixture's installation id is the tenant
