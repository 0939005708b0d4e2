"""Hostile unified diffs: real diffs and generated git diffs, then mutated at the byte level.

Generated files cover what git writes (modified, added, deleted, renamed, copied, binary, mode
changes, empty files, `\\ No newline at end of file`, quoted non-ASCII paths, paths with spaces).
Mutations then break them the ways diffs arrive broken: truncated, wrong hunk counts, CRLF, NUL
and non-UTF-8 bytes, huge lines, stray header lines, lines dropped or repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
REAL_DIFFS = tuple(
    p.read_bytes()
    for p in [
        ROOT / "examples" / "pr.diff",
        *sorted((ROOT / "tests/fixtures/hunks").glob("*.diff")),
    ]
)

CODE = [
    "import os",
    "def handler(request):",
    "    return request.user.is_authenticated",
    "class Config:",
    "    pass",
    "",
    "# a comment",
    "    token = secrets.token_hex(16)",
    "lock = threading.Lock()",
    "subprocess.run(cmd, shell=True)",
    'version = "1.2.3"',
    "}",
    "\t\tindented",
    "trailing space   ",
    "const a = require('b');",
    "<|endoftext|>",
    "@@ -1 +1 @@",
    "-- not a header",
    "++ not a header",
    "diff --git a/x b/x",
    "\\ No newline at end of file",
    "permissions: write-all",
    "DROP TABLE users;",
]
_CHARS = st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",))
huge_line = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "a=1;", "é", "ab ", "\t"]),
    st.integers(2_000, 150_000),
)
# Mostly code-like lines, some arbitrary text, and about one line in a hundred huge.
line_text = st.integers(0, 99).flatmap(
    lambda roll: (
        huge_line
        if roll == 0
        else st.text(_CHARS, max_size=60)
        if roll < 30
        else st.sampled_from(CODE)
    )
)

SEGMENTS = [
    "src",
    "app",
    "docs",
    "tests",
    "vendor",
    "node_modules",
    ".github/workflows",
    "migrations",
    "api",
    "dir with space",
    "ünïcødé",
    "日本語",
    "😀",
    "-",
    "a\tb",
    'q"uote',
    "back\\slash",
]
NAMES = [
    "main.py",
    "auth.py",
    "README.md",
    "package-lock.json",
    "app.min.js",
    "ci.yml",
    "0001_init.sql",
    "svc.proto",
    "x_pb2.py",
    "file with spaces.txt",
    "é.txt",
    "Makefile",
    "noext",
    "__init__.py",
    "go.mod",
    "logo.png",
]
LONG_PATHS = ["a/" * 2000 + "x.py", "x" * 5000 + ".py", "tests/" * 600 + "t.py", ".min" * 900]
paths = st.builds(
    lambda segments, name: "/".join([*segments, name]),
    st.lists(st.sampled_from(SEGMENTS), max_size=3),
    st.sampled_from(NAMES) | st.text(_CHARS, min_size=1, max_size=20),
) | st.sampled_from(LONG_PATHS)

_ESCAPES = {"\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r"}


def git_quote(path: str) -> str:
    """Quote a path the way git does (core.quotePath=true) when it needs quoting."""
    if path.isascii() and not any(c in path for c in '"\\\t\n') and path.isprintable():
        return path
    out = []
    for byte in path.encode("utf-8"):
        c = chr(byte)
        if byte >= 0x80 or (byte < 0x20 and c not in _ESCAPES):
            out.append(f"\\{byte:03o}")
        elif c in _ESCAPES:
            out.append("\\" + _ESCAPES[c])
        elif c in '"\\':
            out.append("\\" + c)
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


BAD_ESCAPES = ["\\1x", "\\q", "\\é", "\\400", "\\", "\\\udcff"]


def _named(prefix: str, path: str, style: str) -> str:
    """`a/path` as git, a raw (quotePath=false) or a wrongly quoted diff would print it."""
    if style == "git":
        return git_quote(prefix + path)
    if style == "raw":
        return prefix + path
    if style.startswith("bad_escape"):  # git writes three octal digits or a C escape, not these
        return f'"{prefix}{path}{BAD_ESCAPES[int(style[-1])]}"'
    return f'"{prefix}{path}\\'  # an unterminated quote


def render_hunk(
    old_start: int, new_start: int, lines: list[tuple[str, str]], section: str, no_eol: bool
) -> str:
    """A hunk with header counts that match its lines (git omits a count of 1)."""
    old = sum(1 for kind, _ in lines if kind in " -")
    new = sum(1 for kind, _ in lines if kind in " +")

    def span(start: int, count: int) -> str:
        return f"{start}" if count == 1 else f"{start},{count}"

    head = (
        f"@@ -{span(old_start, old)} +{span(new_start, new)} @@{' ' + section if section else ''}"
    )
    body = "".join(f"{kind}{text}\n" for kind, text in lines)
    if no_eol and lines:
        body += "\\ No newline at end of file\n"
    return head + "\n" + body


@st.composite
def hunk_lines(draw: st.DrawFn, kinds: str = " +-", max_lines: int = 10) -> list[tuple[str, str]]:
    """The lines of one hunk, each a (kind, text) pair."""
    n = draw(st.integers(1, max_lines))
    return [(draw(st.sampled_from(kinds)), draw(line_text)) for _ in range(n)]


@st.composite
def hunks(draw: st.DrawFn, kinds: str = " +-", single: bool = False) -> str:
    """One or more hunks with consistent line numbers, or one from line 0 for added/deleted."""
    if single:
        lines = draw(hunk_lines(kinds, 12))
        old_start, new_start = (1, 0) if kinds == "-" else (0, 1)
        return render_hunk(old_start, new_start, lines, "", draw(st.booleans()))
    out, old, new = [], 1, 1
    for index in range(draw(st.integers(1, 3))):
        old += draw(st.integers(0, 40))
        new = max(1, new + draw(st.integers(-5, 40)))
        lines = draw(hunk_lines(kinds))
        section = draw(st.sampled_from(["", "def handler(request):", "class A {"]))
        last = index == 2 and draw(st.booleans())
        out.append(render_hunk(old, new, lines, section, last))
        old += sum(1 for kind, _ in lines if kind in " -")
        new += sum(1 for kind, _ in lines if kind in " +")
    return "".join(out)


FILE_KINDS = (
    "modified",
    "added",
    "deleted",
    "renamed",
    "renamed_pure",
    "copied",
    "binary",
    "binary_patch",
    "mode",
    "empty_added",
    "plain",
)


@st.composite
def file_diffs(draw: st.DrawFn) -> str:
    """One file's diff as git (or plain `diff -u`) writes it."""
    kind = draw(st.sampled_from(FILE_KINDS))
    path, old_path = draw(paths), draw(paths)
    bad = [f"bad_escape{i}" for i in range(len(BAD_ESCAPES))]
    style = draw(st.sampled_from(["git", "git", "git", "git", "raw", "unterminated", *bad]))
    a, b = _named("a/", path, style), _named("b/", path, style)
    a_old = _named("a/", old_path, style)
    git = f"diff --git {a} {b}\n"
    index = "index 3b18e51..a4c2f1d 100644\n"
    if kind == "modified":
        return git + index + f"--- {a}\n+++ {b}\n" + draw(hunks())
    if kind == "added":
        body = draw(hunks("+", single=True))
        return (
            git
            + "new file mode 100644\nindex 0000000..a4c2f1d\n"
            + f"--- /dev/null\n+++ {b}\n"
            + body
        )
    if kind == "deleted":
        body = draw(hunks("-", single=True))
        return (
            git
            + "deleted file mode 100644\nindex a4c2f1d..0000000\n"
            + f"--- {a}\n+++ /dev/null\n"
            + body
        )
    if kind in ("renamed", "renamed_pure", "copied"):
        verb = "copy" if kind == "copied" else "rename"
        head = (
            f"diff --git {a_old} {b}\nsimilarity index {draw(st.integers(0, 100))}%\n"
            f"{verb} from {old_path}\n{verb} to {path}\n"
        )
        if kind != "renamed":
            return head
        return head + index + f"--- {a_old}\n+++ {b}\n" + draw(hunks())
    if kind == "binary":
        return git + index + f"Binary files {a} and {b} differ\n"
    if kind == "binary_patch":
        return (
            git + index + "GIT binary patch\nliteral 12\nTcmZ?l00001\n\nliteral 0\nHcmV?d00001\n\n"
        )
    if kind == "mode":
        return git + "old mode 100644\nnew mode 100755\n"
    if kind == "empty_added":
        return git + "new file mode 100644\nindex 0000000..e69de29\n"
    stamp = "\t2026-11-27 10:00:00.000000000 +0000"
    return f"--- {path}{stamp}\n+++ {path}{stamp}\n" + draw(hunks())


generated_diffs = st.lists(file_diffs(), min_size=1, max_size=5).map(
    lambda files: "".join(files).encode("utf-8", "surrogateescape")
)

# --- byte-level mutations --------------------------------------------------------------------

_STRAY = [
    b"\\ No newline at end of file",
    b"diff --git a/x b/x",
    b"--- a/x",
    b"+++ b/x",
    b"--- /dev/null",
    b"@@ -1 +1 @@",
    b"@@ -0,0 +0,0 @@",
    b"@@ -1,2 +1,2 @@ @@ -3 +3 @@",
    b"@@@ -1,2 -1,2 +1,3 @@@",
    b"Binary files a/x and /dev/null differ",
    b"rename from x",
    b"rename to ",
    b"new file mode 100644",
    b"old mode 100644",
    b"index 000..111",
    b"similarity index 101%",
    b"",
    b" ",
    b"+",
    b"-",
]
_COUNT = re.compile(rb"(@@ -)(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_JUNK = [b"\xff", b"\xfe\xff", b"\xc3", b"\xe9t\xe9", b"\x80\x81", b"\xed\xa0\x80", b"\x00"]

Mutation = Callable[[st.DrawFn, bytes], bytes]


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _truncate(draw: st.DrawFn, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def _wrong_count(draw: st.DrawFn, data: bytes) -> bytes:
    heads = list(_COUNT.finditer(data))
    if not heads:
        return data
    match = heads[draw(st.integers(0, len(heads) - 1))]
    group = draw(st.sampled_from([2, 3, 4, 5]))
    value = draw(
        st.sampled_from([b"0", b"-1", b"99999999999999999999", b"", b"1"])
        | st.integers(0, 60).map(lambda n: str(n).encode())
    )
    start, end = match.span(group) if match.group(group) is not None else match.span(group - 1)
    if match.group(group) is None:  # no ",count": add one
        return data[:end] + b"," + value + data[end:]
    return data[:start] + value + data[end:]


def _crlf(draw: st.DrawFn, data: bytes) -> bytes:
    if draw(st.booleans()):
        return data.replace(b"\n", b"\r\n")
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = lines[i].replace(b"\n", b"\r\n")
    return b"".join(lines)


def _insert(draw: st.DrawFn, data: bytes, piece: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    return data[:at] + piece + data[at:]


def _junk_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    return _insert(draw, data, draw(st.sampled_from(_JUNK)))


def _nul(draw: st.DrawFn, data: bytes) -> bytes:
    return _insert(draw, data, b"\x00" * draw(st.integers(1, 3)))


def _latin1_line(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = lines[i].decode("utf-8", "replace").encode("latin-1", "replace") + b"\xe9"
    return b"".join(lines)


def _huge(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines)))
    kind = draw(st.sampled_from([b"+", b"-", b" ", b"", b"@@ -1 +1 @@ "]))
    lines.insert(i, kind + draw(huge_line).encode("utf-8") + b"\n")
    return b"".join(lines)


def _stray(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(_STRAY)) + b"\n")
    return b"".join(lines)


def _drop(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return b"".join(lines)


def _repeat(draw: st.DrawFn, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(i, lines[i])
    return b"".join(lines)


def _prefix(draw: st.DrawFn, data: bytes) -> bytes:
    junk = draw(st.sampled_from([b"\xef\xbb\xbf", b"From abc Mon Sep 17 00:00:00 2001\n", b"\n\n"]))
    return junk + data


MUTATIONS: tuple[Mutation, ...] = (
    _truncate,
    _wrong_count,
    _crlf,
    _junk_bytes,
    _nul,
    _latin1_line,
    _huge,
    _stray,
    _drop,
    _repeat,
    _prefix,
)


@st.composite
def diffs(draw: st.DrawFn) -> bytes:
    """A real or generated diff with zero to three mutations applied."""
    base = draw(st.sampled_from(REAL_DIFFS) | generated_diffs | st.sampled_from([b"", b" \n\t"]))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), max_size=3)):
        base = mutation(draw, base)
    return base
