"""Unified diffs parsed with unidiff into immutable files and hunks, with GitHub line anchors."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk as UnidiffHunk
from unidiff.patch import PatchedFile, PatchSet

from app.errors import DiffError
from app.plan.numbering import number_lines


class Side(StrEnum):
    """GitHub's side of a diff line: LEFT for removed lines, RIGHT for added and context lines."""

    LEFT = "LEFT"
    RIGHT = "RIGHT"


class FileStatus(StrEnum):
    """What happened to a file."""

    ADDED = "added"
    DELETED = "deleted"
    MODIFIED = "modified"
    RENAMED = "renamed"


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an inline comment can sit: GitHub's (path, line, side)."""

    path: str
    line: int
    side: Side


@dataclass(frozen=True, slots=True)
class Hunk:
    """One `@@` hunk: its unified text and the changed lines' contents."""

    index: int
    text: str  # "@@ -a,b +c,d @@ ...\n" and its lines, each ending in "\n"
    source_start: int
    target_start: int
    kinds: str  # one character per line: "+", "-", " " or "\\"
    added_lines: tuple[str, ...]
    removed_lines: tuple[str, ...]
    numbered: str = ""  # `text` with each line's old and new number, as models read it

    def anchors(self, path: str) -> tuple[Anchor, ...]:
        """Every reviewable line of the hunk as a GitHub anchor."""
        out: list[Anchor] = []
        old, new = self.source_start, self.target_start
        for kind in self.kinds:
            if kind == "+":
                out.append(Anchor(path, new, Side.RIGHT))
                new += 1
            elif kind == "-":
                out.append(Anchor(path, old, Side.LEFT))
                old += 1
            elif kind == " ":
                out.append(Anchor(path, new, Side.RIGHT))
                old += 1
                new += 1
        return tuple(out)


@dataclass(frozen=True, slots=True)
class FileDiff:
    """One file's change."""

    path: str
    old_path: str | None
    status: FileStatus
    is_binary: bool
    header: str  # "diff --git ...\n--- ...\n+++ ...\n" as sent to models
    hunks: tuple[Hunk, ...]
    added: int
    removed: int
    undecodable: bool  # the diff bytes for this file were not UTF-8


_QUOTED_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
_PREFIX = re.compile(r"^[ab]/")
# Bytes that were not UTF-8 survive decoding as lone surrogates (errors="surrogateescape").
_SURROGATE = re.compile("[\udc80-\udcff]")


def decode_diff(data: bytes) -> str:
    """Decode diff bytes, keeping non-UTF-8 bytes as surrogates so their files can be skipped."""
    return data.decode("utf-8", "surrogateescape")


def _unquote(path: str) -> str:
    """Undo git's C-style quoting of non-ASCII paths (`"a/\\303\\251.txt"` -> `a/é.txt`)."""
    if not (len(path) >= 2 and path[0] == '"' and path[-1] == '"'):
        return path
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt, octal = body[i + 1], body[i + 1 : i + 4]
            if len(octal) == 3 and all(d in "01234567" for d in octal):  # git writes all three
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            known = _QUOTED_ESCAPES.get(nxt)
            # Not an escape git writes: keep the character, which may be beyond one byte.
            out.extend([known] if known is not None else nxt.encode("utf-8", "surrogateescape"))
            i += 2
            continue
        out.extend(c.encode("utf-8", "surrogateescape"))
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _clean(path: str | None) -> str | None:
    if path is None or path == "/dev/null":
        return None
    return _PREFIX.sub("", _unquote(path))


def _status(patched: PatchedFile) -> FileStatus:
    if patched.is_added_file:
        return FileStatus.ADDED
    if patched.is_removed_file:
        return FileStatus.DELETED
    if patched.is_rename:
        return FileStatus.RENAMED
    return FileStatus.MODIFIED


def _hunk(index: int, hunk: UnidiffHunk) -> Hunk:
    section = " " + hunk.section_header if hunk.section_header else ""
    head = (
        f"@@ -{hunk.source_start},{hunk.source_length} "
        f"+{hunk.target_start},{hunk.target_length} @@{section}\n"
    )
    lines = list(hunk)
    body = "".join([line.line_type + line.value for line in lines])
    if body and not body.endswith("\n"):  # the last line of a file without a final newline
        body += "\n"
    kinds = "".join([line.line_type for line in lines])
    unified = [line.line_type + line.value.rstrip("\r\n") for line in lines]
    return Hunk(
        index=index,
        text=head + body,
        source_start=hunk.source_start,
        target_start=hunk.target_start,
        kinds=kinds,
        added_lines=tuple([line.value for line in lines if line.line_type == "+"]),
        removed_lines=tuple([line.value for line in lines if line.line_type == "-"]),
        numbered=number_lines(
            head.rstrip("\n"), kinds, unified, hunk.source_start, hunk.target_start
        ),
    )


def _shown(path: str | None) -> str | None:
    """A path as text: bytes that were not UTF-8 become U+FFFD (the file itself is skipped)."""
    return None if path is None else _SURROGATE.sub("\ufffd", path)


def _file(patched: PatchedFile) -> FileDiff:
    raw_source, raw_target = _clean(patched.source_file), _clean(patched.target_file)
    raw_path = raw_target or raw_source or _unquote(patched.path)
    # Paths reach plans, prompts and GitHub as text; `undecodable` keeps what they were.
    source, target, path = _shown(raw_source), _shown(raw_target), _shown(raw_path) or ""
    status = _status(patched)
    header = (
        f"diff --git a/{source or path} b/{target or path}\n"
        f"--- {'a/' + source if source else '/dev/null'}\n"
        f"+++ {'b/' + target if target else '/dev/null'}\n"
    )
    hunks = tuple(_hunk(i, h) for i, h in enumerate(patched))
    # Surrogates are not ASCII, and whether a str is ASCII is known without reading it.
    undecodable = _SURROGATE.search(raw_path) is not None or any(
        not h.text.isascii() and _SURROGATE.search(h.text) for h in hunks
    )
    return FileDiff(
        path=path,
        old_path=source if status is FileStatus.RENAMED else None,
        status=status,
        is_binary=bool(patched.is_binary_file),
        header=header,
        hunks=hunks,
        added=sum(len(h.added_lines) for h in hunks),
        removed=sum(len(h.removed_lines) for h in hunks),
        undecodable=undecodable,
    )


def _cut(text: str, limit: int = 120) -> str:
    """`text` on one line, cut, for an error message: unidiff quotes whole lines (with their
    newline), which may be megabytes."""
    text = text.strip().replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _binary(text: str) -> bool:
    """Whether the start of the input is binary data: a NUL, or bytes that are not UTF-8."""
    head = text[:8192]
    return "\x00" in head or any("\udc80" <= ch <= "\udcff" for ch in head)


def _locate(text: str) -> str:
    """Find the first hunk whose line counts do not match its header, for the error message."""
    header = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
    path, old_left, new_left, start = "?", 0, 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        if old_left > 0 or new_left > 0:
            kind = line[:1]
            if kind in (" ", ""):
                old_left, new_left = old_left - 1, new_left - 1
            elif kind == "-":
                old_left -= 1
            elif kind == "+":
                new_left -= 1
            elif kind != "\\":
                return f"line {number} in {path}: hunk at line {start} ends early"
            if old_left < 0 or new_left < 0:
                return f"line {number} in {path}: hunk at line {start} is longer than its header"
            continue
        if line.startswith("+++ "):
            path = _cut(_clean(line[4:].split("\t")[0]) or path)
        match = header.match(line)
        if match:
            old_left = int(match.group(1) or 1)
            new_left = int(match.group(2) or 1)
            start = number
    if old_left > 0 or new_left > 0:
        return f"end of input in {path}: hunk at line {start} is shorter than its header"
    return "location unknown"


@functools.lru_cache(maxsize=1)
def parse_diff(text: str) -> tuple[FileDiff, ...]:
    """Parse a unified diff (git's or plain) into files, in the diff's order.

    The last diff's files are kept (they are immutable): an edge that reads the files to fetch
    their whole contents and then plans the same text parses it once.
    """
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise DiffError(f"malformed diff: {_cut(str(exc))} ({_locate(text)})") from exc
    if not len(patch) and text.strip():
        if _binary(text):
            raise DiffError(
                "not a unified diff: the input is binary data (a NUL or non-UTF-8 bytes near "
                "its start); pass a diff, e.g. the output of `git diff`"
            )
        first = text.lstrip().splitlines()[0][:60]
        raise DiffError(
            f"not a unified diff: no file headers ('diff --git' or '--- a/...') found; "
            f"line 1 reads {first!r}"
        )
    return tuple(_file(p) for p in patch)


@dataclass(frozen=True, slots=True)
class PatchFile:
    """One file of a PR as GitHub lists it: its per-file patch has no headers of its own."""

    filename: str
    status: str  # added, removed, modified, renamed, copied, changed, unchanged
    patch: str | None  # GitHub omits it for binary files and very large diffs
    previous_filename: str | None = None


def diff_from_patches(files: Sequence[PatchFile]) -> tuple[str, tuple[str, ...]]:
    """A unified diff from GitHub's per-file patches, and the files it had no patch for."""
    parts: list[str] = []
    missing: list[str] = []
    for f in files:
        if f.patch is None:
            missing.append(f"{f.filename} (GitHub sent no patch: binary or too large)")
            continue
        old = f.previous_filename or f.filename
        source = "/dev/null" if f.status == "added" else f"a/{old}"
        target = "/dev/null" if f.status == "removed" else f"b/{f.filename}"
        header = f"diff --git a/{old} b/{f.filename}\n"
        if f.status == "renamed":
            header += f"rename from {old}\nrename to {f.filename}\n"
        elif f.status in ("added", "removed"):  # unidiff wants the mode line with /dev/null
            header += f"{'new' if f.status == 'added' else 'deleted'} file mode 100644\n"
        patch = f.patch if f.patch.endswith("\n") else f.patch + "\n"
        parts.append(f"{header}--- {source}\n+++ {target}\n{patch}" if f.patch else header)
    return "".join(parts), tuple(missing)


_HUNK_HEADER = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def hunk_lines(text: str) -> dict[int, str]:
    """Map each hunk content line of a diff embedded in `text` to its file's path.

    Line indexes are those of `text.split("\\n")`. Lines are counted as unidiff counts them, from
    each hunk header's lengths, so a removed "-- x" line is not taken for a file header; text
    around the diff (a prompt's other sections) maps to nothing.
    """
    out: dict[int, str] = {}
    old_path: str | None = None
    path: str | None = None
    old = new = 0
    for index, line in enumerate(text.split("\n")):
        if old > 0 or new > 0:
            tag = line[:1]
            if tag in ("", " ", "\r"):
                old, new = old - 1, new - 1
            elif tag == "-":
                old -= 1
            elif tag == "+":
                new -= 1
            elif tag != "\\":
                old = new = 0  # the hunk ended early: this line is read as a header below
            if tag in ("+", "-", " ") and path is not None:
                out[index] = path
            if old > 0 or new > 0 or tag in ("+", "-", " ", "", "\r", "\\"):
                continue
        if line.startswith("diff --git "):
            old_path = None
            path = _clean(line[len("diff --git ") :].rsplit(" b/", 1)[-1])
        elif line.startswith("--- "):
            old_path = _clean(line[4:].split("\t", 1)[0].strip())
        elif line.startswith("+++ "):
            path = _clean(line[4:].split("\t", 1)[0].strip()) or old_path
        elif (hunk := _HUNK_HEADER.match(line)) is not None:
            old = int(hunk.group(1) or "1")
            new = int(hunk.group(2) or "1")
    return out
