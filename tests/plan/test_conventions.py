"""Conventions files joined under headings and cut to the token cap, with a note."""

from __future__ import annotations

from app.plan.conventions import CUT_NOTE, conventions_block, with_conventions
from app.plan.tokens import TokenCounter


def test_files_are_joined_in_order_and_empty_ones_skipped(counter: TokenCounter) -> None:
    block, cut = conventions_block(
        [("AGENTS.md", "Use tabs.\n"), ("CLAUDE.md", "  \n"), ("CONTRIBUTING.md", "Sign off.")],
        2000,
        counter.count,
    )
    assert not cut
    assert (
        block
        == "## Repository conventions\n### AGENTS.md\nUse tabs.\n\n### CONTRIBUTING.md\nSign off.\n"
    )
    assert with_conventions("Be terse.", block).startswith("Be terse.\n\n## Repository conventions")
    assert with_conventions("Be terse.", "") == "Be terse."


def test_a_long_file_is_cut_at_the_cap_with_a_note(counter: TokenCounter) -> None:
    long = "Every public function has a docstring and a test. " * 2000
    block, cut = conventions_block([("AGENTS.md", long)], 300, counter.count)
    assert cut and block.endswith(CUT_NOTE)
    assert counter.count(block) <= 300
    assert conventions_block([("AGENTS.md", long)], 0, counter.count) == ("", False)
