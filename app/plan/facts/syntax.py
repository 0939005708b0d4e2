"""What a file's hunks say once parsed: code without strings and comments, definitions, imports.

A bare diff has no whole files, so each side of the change is rebuilt from the hunks (context plus
removed lines for the old side, context plus added lines for the new) and parsed by tree-sitter,
which recovers from the syntax errors cut-off hunks cause. Only the changed rows are read; the
context lines give the parser the structure around them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tree_sitter import Node, QueryCursor

from app.plan.diff import Hunk
from app.plan.facts.grammar import TYPING_MODULES, Grammar, grammar, parser
from app.plan.facts.hunks import (
    FRAGMENT,
    QUOTES,
    SPACE,
    TRAILING_COMMA,
    sides,
    squashed,
    unpunctuated,
)

_MAX_SIGNATURE = 300  # characters of a definition's header kept for display
_HEADER_ENDS_AT_BODY = ("function", "method", "constructor", "class", "impl")
_HEADER_FIELDS = ("name", "parameters", "return_type", "result", "type_parameters", "superclasses")
_SCOPES = frozenset(
    {
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "impl_item",
        "trait_item",
    }
)
_LOCAL_SCOPES = frozenset({"function_definition", "function_declaration", "function_item"})
_SPACES = bytes(10 if b == 10 else 32 for b in range(256))  # every byte but "\n" -> " "
_WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Definition:
    """A public definition on one side: its header, normalised, and whether the change hits it."""

    name: str
    header: str  # whitespace-normalised, for display
    key: bytes  # the header with all whitespace and trailing commas removed, for comparison
    shape: str  # parameter names, defaults, optional and variadic marks, without types
    touched: bool


@dataclass(frozen=True, slots=True)
class SideView:
    """One side of a file's change, parsed."""

    code: str  # the changed rows with strings and comments blanked, joined by newlines
    comments: str  # the comments on the changed rows (for deprecation markers only)
    definitions: dict[str, Definition]  # qualified name -> definition
    imports: frozenset[str]  # top-level packages imported anywhere on this side
    changed_imports: frozenset[str]  # ... imported on a changed row
    stream: bytes  # the side without comments, whitespace or parentheses, quotes unified
    errors: bool  # the parser recovered from syntax errors
    enclosing: frozenset[str] = frozenset()  # names of the definitions the changed rows are in
    typeless: bytes | None = None  # `stream` without type annotations (None: no such notion)
    constants: dict[str, str] = field(default_factory=dict)  # public constants changed: value
    strings: str = ""  # the string literals on the changed rows, one a line (data, never code)


@dataclass(frozen=True, slots=True)
class FileSyntax:
    """Both sides of one file's change."""

    language: str
    old: SideView
    new: SideView
    headings: str = ""  # git's hunk section headers (the enclosing function's line), one a line


def _blank(source: bytes, nodes: Sequence[Node]) -> bytes:
    """The source with each node's bytes turned into spaces, line breaks kept."""
    out = bytearray(source)
    for node in nodes:
        start, end = node.start_byte, node.end_byte
        out[start:end] = source[start:end].translate(_SPACES)
    return bytes(out)


def _rows(text: bytes, rows: frozenset[int]) -> list[bytes]:
    lines = text.split(b"\n")
    return [lines[r] for r in sorted(rows) if r < len(lines)]


def _qualified(name: str, node: Node) -> str | None:
    """`Class.method` for members; None for definitions local to a function."""
    parts = [name]
    parent = node.parent
    depth = 0
    while parent is not None and depth < 12:
        if parent.type in _LOCAL_SCOPES:
            return None
        if parent.type in _SCOPES:
            owner = parent.child_by_field_name("name") or parent.child_by_field_name("type")
            if owner is not None and owner.text is not None:
                parts.append(owner.text.decode("utf-8", "replace"))
        parent = parent.parent
        depth += 1
    return ".".join(reversed(parts))


def _definitions(
    g: Grammar, matches: Sequence[tuple[Node, Node]], source: bytes, rows: frozenset[int]
) -> tuple[dict[str, Definition], frozenset[str]]:
    """Public definitions by qualified name, and the names of all definitions the change is in.

    `matches` are the (definition, name) node pairs of the grammar's definitions query, in the
    order the query cursor found them."""
    found: dict[str, Definition] = {}
    enclosing: set[str] = set()
    ordered = sorted(rows)
    for node, name_node in matches:
        name = (name_node.text or b"").decode("utf-8", "replace")
        at = bisect.bisect_left(ordered, node.start_point.row)
        if name and at < len(ordered) and ordered[at] <= node.end_point.row:
            if FRAGMENT.fullmatch(name) is None:
                enclosing.add(name)
        if not name or not g.public(name, node):
            continue
        qual = _qualified(name, node)
        if qual is None:
            continue
        body = node.child_by_field_name("body")
        function_like = any(word in node.type for word in _HEADER_ENDS_AT_BODY)
        ends = [
            part
            for part in map(node.child_by_field_name, _HEADER_FIELDS)
            if part is not None and (body is None or part.end_byte <= body.start_byte)
        ]
        if function_like and ends:  # the header ends with its last part (name, params, result)
            last = max(ends, key=lambda part: part.end_byte)
            end_byte, end_row = last.end_byte, last.end_point.row
        elif body is not None and function_like:
            end_byte, end_row = body.start_byte, body.start_point.row
        else:
            end_byte, end_row = node.end_byte, node.end_point.row
        header = source[node.start_byte : end_byte]
        # a changed row within the header's rows: the first at or after its start row
        touched = at < len(ordered) and ordered[at] <= end_row
        # as b"".join(header.split()).replace(b"'", b'"'), in one pass
        key = TRAILING_COMMA.sub(b"", header.translate(QUOTES, SPACE))
        if g.name == "go":
            key = key.replace(b"interface{}", b"any")  # the same type since Go 1.18
        elif g.name == "python":
            key = python_types(key)
        elif g.name == "rust" and b"Self" in key:
            key = _self_named(node, key)
        found[qual] = Definition(
            name=qual,
            header=" ".join(header.decode("utf-8", "replace").split())[:_MAX_SIGNATURE],
            key=key,
            shape=_shape(node) if g.name in _TYPED_LATER else key.decode("utf-8", "replace"),
            touched=touched,
        )
    return found, frozenset(enclosing)


_SELF = re.compile(rb"\bSelf\b")


def _self_named(node: Node, key: bytes) -> bytes:
    """A Rust header with `Self` spelled as the type of the impl it is in: clippy's `use_self`
    rewrites `-> Message` to `-> Self`, the same type."""
    parent = node.parent
    while parent is not None and parent.type != "impl_item":
        parent = parent.parent
    owner = parent.child_by_field_name("type") if parent is not None else None
    if owner is None or owner.text is None:
        return key
    name = b"".join(owner.text.split())  # generics and all: `Self` is `Router<S,E>`
    return _SELF.sub(lambda _: name, key)


_TYPING_ALIAS = re.compile(
    rb"\b(?:typing\.|t\.)?(List|Dict|Tuple|Set|FrozenSet|Type|Deque|DefaultDict)\["
)
_TYPING_PREFIX = re.compile(rb"\b(?:typing|typing_extensions|t)\.(?=[A-Z])")
_WRAPPER = re.compile(rb"\b(Optional|Union)\[")
# What every _TYPING_ALIAS match ends with (FrozenSet[ ends in Set[, DefaultDict[ in Dict[): a
# header with none of them skips the regex.
_ALIAS_ENDS = (b"List[", b"Dict[", b"Tuple[", b"Set[", b"Type[", b"Deque[")


def _closing(text: bytes, start: int) -> int:
    """The index of the `]` that closes the `[` just before `start`, or -1."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == 0x5B:
            depth += 1
        elif text[i] == 0x5D:
            depth -= 1
            if depth == 0:
                return i
    return -1


def python_types(key: bytes, unquote: bool = True) -> bytes:
    """A Python header with its type hints spelled one way (whitespace already removed):
    `List[X]` as `list[X]`, `Optional[X]` as `X|None`, `Union[A,B]` as `A|B`, `typing.X` as `X`,
    and quoted forward references unquoted, so a PEP 585/604 codemod changes no key."""
    if b"." in key:  # every prefix ends in a dot
        key = _TYPING_PREFIX.sub(b"", key)
    if b"[" not in key:  # no alias and no wrapper without a bracket
        return key.replace(b'"', b"") if unquote else key
    if any(name in key for name in _ALIAS_ENDS):
        key = _TYPING_ALIAS.sub(lambda m: m[1].lower() + b"[", key)
    wrapped = b"Optional[" in key or b"Union[" in key
    for _ in range(32 if wrapped else 0):  # innermost first; bounded against pathological headers
        found = None
        for match in _WRAPPER.finditer(key):
            end = _closing(key, match.end())
            if end >= 0 and _WRAPPER.search(key, match.end(), end) is None:
                found = (match, end)
                break
        if found is None:
            break
        match, end = found
        inner = key[match.end() : end]
        parts = _split_top(inner)
        if match[1] == b"Optional":
            parts.append(b"None")
        key = key[: match.start()] + b"|".join(parts) + key[end + 1 :]
    return key.replace(b'"', b"") if unquote else key


def _split_top(inner: bytes) -> list[bytes]:
    """`A,B[C,D]` -> [A, B[C,D]]: commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, byte in enumerate(inner):
        if byte == 0x5B:
            depth += 1
        elif byte == 0x5D:
            depth -= 1
        elif byte == 0x2C and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [p for p in parts if p]


_TYPED_LATER = frozenset({"python", "typescript", "tsx", "javascript"})
_NAME_FIELDS = ("name", "pattern")


def _param_name(node: Node) -> str:
    for field_name in _NAME_FIELDS:
        child = node.child_by_field_name(field_name)
        if child is not None and child.text is not None:
            return _param_name(child) if child.named_child_count else child.text.decode()
    for child in node.named_children:
        if child.type in ("identifier", "property_identifier") and child.text is not None:
            return child.text.decode()
        if child.named_child_count:
            return _param_name(child)
    return (node.text or b"").decode("utf-8", "replace")


def _returns(node: Node) -> str:
    """`->T` when the function declares a result, `->None` when none (or None/void)."""
    result = node.child_by_field_name("return_type")
    text = b"".join((result.text or b"").split()).lstrip(b":") if result is not None else b""
    return "->None" if text in (b"", b"None", b"void", b"Promise<void>") else "->T"


def _shape(node: Node) -> str:
    """A function's parameters without their types (names, defaults, `?`, `*`, `/`), and
    whether it returns something: a type changed on its own is an annotation, not a new shape."""
    params = node.child_by_field_name("parameters")
    if params is None:
        return ""
    parts = []
    for child in params.named_children:
        kind = child.type
        if "comment" in kind:
            continue
        if kind in ("keyword_separator", "positional_separator"):
            parts.append((child.text or b"").decode())
            continue
        mark = ""
        if (
            "splat" in kind
            or "rest" in kind
            or any(
                c.type in ("list_splat_pattern", "dictionary_splat_pattern", "rest_pattern")
                for c in child.named_children
            )
        ):
            mark = "*"
        value = child.child_by_field_name("value")
        if value is not None:
            mark += "=" + "".join((value.text or b"").decode("utf-8", "replace").split())
        elif "default" in kind:
            mark += "="
        if "optional" in kind:
            mark += "?"
        parts.append(_param_name(child) + mark)
    return "(" + ",".join(parts) + ")" + _returns(node)


def _package(language: str, text: str) -> str | None:
    """The top-level package an import names, or None for relative imports."""
    text = text.strip().strip("\"'`")
    if not text or text.startswith("."):
        return None
    if language in ("typescript", "tsx", "javascript"):
        parts = text.split("/")
        return "/".join(parts[:2]) if text.startswith("@") else parts[0]
    if language == "go":
        return text  # the import path: a new path is a new package
    if language == "rust":
        head = re.split(r"::|\s|\{", text, maxsplit=1)[0]
        return None if head in ("crate", "self", "super") else head
    if language == "java":
        return ".".join(text.split(".")[:2])
    return text.split(".")[0]


def side_view(language: str, source: bytes, rows: frozenset[int]) -> SideView:
    """One side parsed as given (a whole file, or a side rebuilt from hunks), `rows` changed."""
    g = grammar(language)
    tree = parser(language).parse(source)
    # One walk of the tree for everything the side reads; a match's pattern index says which
    # of the grammar's queries it belongs to.
    ends = g.scan_ends
    found: list[Node] = []
    import_nodes: list[Node] = []
    defined: list[tuple[Node, Node]] = []
    constant_matches: list[dict[str, list[Node]]] = []
    annotated: dict[str, list[Node]] = {}
    for index, match in QueryCursor(g.scan).matches(tree.root_node):
        if index < ends[0]:
            found.extend(match["x"])
        elif index < ends[1]:
            import_nodes.extend(match["import"])
        elif index < ends[2]:
            defined.append((match["def"][0], match["name"][0]))
        elif index < ends[3]:
            constant_matches.append(match)
        else:
            for capture, nodes in match.items():
                annotated.setdefault(capture, []).extend(nodes)
    # In the order a captures() walk gives them: by start (a stable sort keeps an outer string
    # before one that starts with it).
    noncode = sorted(found, key=lambda n: n.start_byte)
    comments = [n for n in noncode if n.type in g.comments]
    code = _blank(source, noncode)
    without_comments = _blank(source, comments)
    imports: set[str] = set()
    changed_imports: set[str] = set()
    for node in import_nodes:
        package = _package(language, (node.text or b"").decode("utf-8", "replace"))
        if package:
            imports.add(package)
            if node.start_point.row in rows:
                changed_imports.add(package)
    comment_rows = b"\n".join(
        (n.text or b"") for n in comments if n.start_point.row in rows or n.end_point.row in rows
    )
    # The whole side, context included: a trailing comma's closer may sit on a context row.
    definitions, enclosing = _definitions(g, defined, source, rows)
    typeless = _typeless(g, annotated, source, comments)
    constants, assigned = _constants(g, constant_matches, rows)
    strings = _changed_strings(g, noncode, source, rows)
    return SideView(
        code=b"\n".join(_rows(code, rows)).decode("utf-8", "surrogateescape"),
        comments=comment_rows.decode("utf-8", "replace"),
        definitions=definitions,
        enclosing=enclosing | assigned,
        imports=frozenset(imports),
        changed_imports=frozenset(changed_imports),
        stream=unpunctuated(squashed(without_comments)),
        errors=tree.root_node.has_error,
        typeless=typeless,
        constants=constants,
        strings=strings.decode("utf-8", "replace"),
    )


def _changed_strings(
    g: Grammar, noncode: Sequence[Node], source: bytes, rows: frozenset[int]
) -> bytes:
    """The string literals on the changed rows, one a line, in source order: a one-line literal
    whole (quotes and all), a multi-line one (a template, an embedded script) only its changed
    lines."""
    out: list[bytes] = []
    lines: list[bytes] | None = None
    for node in noncode:
        if node.type not in g.strings:
            continue
        first, last = node.start_point.row, node.end_point.row
        if first == last:
            if first in rows:
                out.append(b" ".join((node.text or b"").split()))
            continue
        inside = [r for r in range(first, last + 1) if r in rows]
        if inside:
            lines = source.split(b"\n") if lines is None else lines
            out.extend(b" ".join(lines[r].split()) for r in inside if r < len(lines))
    return b"\n".join(out)


_CONSTANT_CASE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_MAX_VALUE = 60  # characters of a constant's value kept for display


def _constants(
    g: Grammar, matches: Sequence[dict[str, list[Node]]], rows: frozenset[int]
) -> tuple[dict[str, str], frozenset[str]]:
    """The public named constants whose definition a changed row touches (name -> value), and
    the names of every such assignment, public or not (a change inside `SSL_KEYWORDS = (...)`
    is about what that name says, like a change inside a function).

    Public: Python and scripts, an UPPER_CASE name (scripts: exported, not a function); Go, a
    capitalised name; Java, a public or protected static final field, or an enum constant's
    arguments; Rust, a `pub` const or static. Version numbers are left to the version facts.
    """
    if not g.reads_constants:
        return {}, frozenset()
    found: dict[str, str] = {}
    assigned: set[str] = set()
    for match in matches:  # the constants query's matches, in the order the cursor found them
        name_node, value = match["name"][0], match["value"][0]
        holder = (match.get("field") or match.get("item") or [value.parent or value])[0]
        if not any(r in rows for r in range(holder.start_point.row, holder.end_point.row + 1)):
            continue
        name = (name_node.text or b"").decode("utf-8", "replace")
        assigned.add(name)
        if "VERSION" in name.upper() or not _public_constant(g.name, name, value, match):
            continue
        if value.start_point.row != value.end_point.row:
            continue  # a multi-line value is a template or a table, not a setting
        text = " ".join((value.text or b"").decode("utf-8", "replace").split())
        found[name] = text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."
    return found, frozenset(assigned)


def _public_constant(language: str, name: str, value: Node, match: dict[str, list[Node]]) -> bool:
    if language in ("python", "typescript", "tsx", "javascript"):
        return _CONSTANT_CASE.match(name) is not None and "function" not in value.type
    if language == "go":
        return name[:1].isupper()
    if "field" in match:
        modifiers = next((c for c in match["field"][0].children if c.type == "modifiers"), None)
        words = (modifiers.text or b"").split() if modifiers is not None else []
        return (
            b"static" in words
            and b"final" in words
            and bool({b"public", b"protected"} & set(words))
        )
    if "item" in match:
        return any(c.type == "visibility_modifier" for c in match["item"][0].children)
    return True  # a Java enum constant: as public as its enum


def _typeless(
    g: Grammar, found: dict[str, list[Node]], source: bytes, comments: Sequence[Node]
) -> bytes | None:
    """The side's token stream without comments and type annotations, or None when the
    language has no annotations that leave the running code alone. `found` holds the nodes the
    annotations query captured, by capture name."""
    if not g.reads_annotations:
        return None
    nodes = list(comments)
    for node in found.get("t", []):
        nodes.append(node)
        before = node.prev_sibling
        if before is not None and before.type in (":", "->"):
            nodes.append(before)
    for node in found.get("a", []):  # a variable's hint, not a class field's
        if _in_function_or_module(node):
            nodes.append(node)
            if node.prev_sibling is not None and node.prev_sibling.type == ":":
                nodes.append(node.prev_sibling)
    modules = {m.parent.id for m in found.get("m", []) if m.parent and m.text in TYPING_MODULES}
    nodes.extend(n for n in found.get("imp", []) if n.id in modules)
    text = _blank(source, nodes)
    stream = squashed(text)
    # Hints the parser could not place (a hunk cut inside a docstring) still read one way.
    return unpunctuated(python_types(stream, unquote=False) if g.name == "python" else stream)


def _in_function_or_module(node: Node) -> bool:
    """Whether an annotated assignment is a variable (in a function, or at module level)
    rather than a class field, which dataclasses, attrs and pydantic read at run time."""
    parent = node.parent
    while parent is not None:
        if parent.type in _LOCAL_SCOPES:
            return True
        if parent.type == "class_definition":
            return False
        parent = parent.parent
    return True


def parse_change(language: str, hunks: Sequence[Hunk]) -> FileSyntax:
    """Parse both sides of one file's hunks with the language's grammar."""
    (old, old_rows), (new, new_rows) = sides(language, hunks)
    headings = "\n".join(
        head.split("@@", 2)[2].strip()
        for head in (h.text.split("\n", 1)[0] for h in hunks)
        if head.count("@@") >= 2
    )
    return FileSyntax(
        language, side_view(language, old, old_rows), side_view(language, new, new_rows), headings
    )


def single_rename(old: str, new: str) -> tuple[str, str] | None:
    """The one identifier renamed, if the code differs only by renaming it everywhere."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    if len(a) != len(b) or a == b:
        return None
    pairs = {(x, y) for x, y in zip(a, b, strict=True) if x != y}
    if len(pairs) != 1:
        return None
    before, after = next(iter(pairs))
    if not (before.isidentifier() and after.isidentifier()):
        return None
    return before, after
