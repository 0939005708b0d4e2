"""What a parsed side keeps of its strings: the changed ones, in the order the source has them."""

from __future__ import annotations

import re

from app.plan.diff import parse_diff
from app.plan.facts.syntax import parse_change

from .helpers import file_diff

OLD = """export function handler(event) {
  const headers = {}
  return headers
}
"""
# Many strings on changed rows, some nested in template strings, in a function a hunk cuts.
NEW = """export function handler(event) {
  const headers = { 'host': event.host, 'content-type': 'text/plain' }
  const url = `https://${event['domainName']}${'/path'}`
  headers['set-cookie'] = ['a', 'b'].join('; ')
  headers['Cookie'] = `${'x'}=${'y'}`
  return headers
}
"""


def test_changed_strings_are_kept_in_source_order() -> None:
    hunks = parse_diff(file_diff("src/handler.ts", OLD, NEW))[0].hunks
    strings = parse_change("typescript", hunks).new.strings.split("\n")
    added = "".join(line for line in NEW.splitlines(keepends=True) if line not in OLD)
    # each string's first appearance in the added text, in the order the side lists them
    starts = [added.find(s) for s in strings]
    assert -1 not in starts
    assert starts == sorted(starts)
    assert {"'set-cookie'", "'Cookie'", "'host'"} <= set(strings)
    assert any(re.fullmatch(r"`https://.*`", s) for s in strings)
