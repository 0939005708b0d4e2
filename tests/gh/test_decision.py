"""The typed webhook decisions: the trigger's stored form and the one tenant rule."""

from __future__ import annotations

import pytest

from app.gh.decision import PullTarget, Trigger, tenant_of


@pytest.mark.parametrize(
    ("trigger", "text"), [(Trigger(), "push"), (Trigger(840508083), "comment:840508083")]
)
def test_a_trigger_round_trips_through_its_stored_form(trigger: Trigger, text: str) -> None:
    assert str(trigger) == text
    assert Trigger.parse(text) == trigger


@pytest.mark.parametrize("text", ["", "Push", "comment:", "comment:x", "comment:1:2", "pr:3"])
def test_an_unknown_trigger_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a trigger"):
        Trigger.parse(text)


def test_the_tenant_is_the_installation_else_the_repository() -> None:
    assert tenant_of(16556382, "o/r") == "16556382"
    assert tenant_of(None, "o/r") == "o/r"
    assert PullTarget("o", "r", 3, installation_id=7).tenant == "7"
    assert PullTarget("o", "r", 3).tenant == "o/r"


def test_the_queue_spells_triggers_as_the_decision_does() -> None:
    # store/queue.py still spells them itself (it supersedes pushes by this form); keep in step.
    from app.store.queue import PUSH_TRIGGER, comment_trigger

    assert str(Trigger()) == PUSH_TRIGGER
    assert str(Trigger(901)) == comment_trigger(901)
