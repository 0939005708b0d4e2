"""The numbered hunk format models read: every line carries the line number it is anchored by.

Models miscount when they must walk `@@ -a,b +c,d @@` headers themselves, so each line of a hunk
starts with its anchor, then a space and the unified diff line unchanged (its `+`, `-` or space
marker, then the code):

    @@ -40,3 +42,4 @@ class Cart:
    R42      def total(self):
    L41 -        return sum(self.prices)
    R43 +        tax = sum(self.prices) * RATE
    R44 +        return sum(self.prices) + tax
    R45      def clear(self):

A removed line shows its old number (`L41`: LEFT 41), an added or context line its new number
(`R43`: RIGHT 43), because GitHub anchors comments on context lines by their new number; the old
number of a context line is never an anchor, and leaving it out saves about a tenth of the diff's
tokens. `\\ No newline at end of file` is shown without a number. The format is documented for users
in `docs/prompt-format.md`.
"""

from __future__ import annotations

from collections.abc import Sequence


def number_lines(
    header: str, kinds: str, lines: Sequence[str], source_start: int, target_start: int
) -> str:
    """A hunk as numbered text: `header` (the `@@` line), then each unified line behind its anchor.

    `kinds` holds one of "+", "-", " ", "\\\\" per line; `lines` the unified lines (marker first,
    no newline). The result ends in a newline.
    """
    old, new = source_start, target_start
    out = [header]
    for kind, line in zip(kinds, lines, strict=True):
        if kind == "-":
            out.append(f"L{old} {line}")
            old += 1
        elif kind in "+ ":
            out.append(f"R{new} {line}")
            new += 1
            old += kind == " "
        else:
            out.append(line)
    return "\n".join(out) + "\n"
