"""The tree-sitter grammars the change facts parse with, per file extension.

Each grammar ships as its own wheel with the compiled parser inside (pinned in pyproject.toml);
nothing is downloaded at run time. A parser and its compiled queries are built once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import tree_sitter_go
import tree_sitter_java
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_rust
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser, Query


def _python_public(name: str, node: Node) -> bool:
    del node
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _go_public(name: str, node: Node) -> bool:
    del node
    return name[:1].isupper()


def _rust_public(name: str, node: Node) -> bool:
    del name
    return any(child.type == "visibility_modifier" for child in node.children)


def _script_public(name: str, node: Node) -> bool:
    """Exported declarations, and methods that are not private (`private`, `#x`, `_x`)."""
    if node.type in ("method_definition", "method_signature", "abstract_method_signature"):
        if name.startswith(("#", "_")):
            return False
        return not any(
            c.type == "accessibility_modifier" and c.text in (b"private", b"protected")
            for c in node.children
        )
    parent = node.parent
    if parent is not None and parent.type == "variable_declarator":
        parent = parent.parent.parent if parent.parent is not None else None
    return parent is not None and parent.type == "export_statement"


def _java_public(name: str, node: Node) -> bool:
    del name
    parent = node.parent
    if parent is not None and parent.type == "interface_body":
        return True
    for child in node.children:
        if child.type == "modifiers":
            words = child.text.split() if child.text else []
            return b"public" in words or b"protected" in words
    return False


@dataclass(frozen=True, slots=True)
class Grammar:
    """One language: its parser, node kinds that are not code, and its queries."""

    name: str
    language: Language
    comments: frozenset[str]  # node types that are comments (never read as code)
    strings: frozenset[str]  # node types that are string literals (never read as code)
    public: Callable[[str, Node], bool]
    # One query holding, in this order: @x for every comment and string node; @import for the
    # imported module's node; @def and @name for definitions; @name and @value (and @item,
    # @field) for constants; @t, @a, @m and @imp for type annotations that do not run. One walk
    # of a tree finds everything; `scan_ends[i]` is the first pattern index past part i.
    scan: Query
    scan_ends: tuple[int, ...]
    reads_constants: bool  # the language has a constants part
    reads_annotations: bool  # ... an annotations part (what a type-hint codemod edits)


_SPECS: dict[str, tuple[Callable[[], object], frozenset[str], frozenset[str], str, str]] = {
    "python": (
        tree_sitter_python.language,
        frozenset({"comment"}),
        frozenset({"string"}),
        """
        (function_definition name: (identifier) @name) @def
        (class_definition name: (identifier) @name) @def
        """,
        """
        (import_statement name: (dotted_name) @import)
        (import_statement name: (aliased_import name: (dotted_name) @import))
        (import_from_statement module_name: (dotted_name) @import)
        """,
    ),
    "typescript": (
        tree_sitter_typescript.language_typescript,
        frozenset({"comment"}),
        frozenset({"string", "template_string"}),
        """
        (function_declaration name: (identifier) @name) @def
        (generator_function_declaration name: (identifier) @name) @def
        (class_declaration name: (type_identifier) @name) @def
        (abstract_class_declaration name: (type_identifier) @name) @def
        (interface_declaration name: (type_identifier) @name) @def
        (type_alias_declaration name: (type_identifier) @name) @def
        (enum_declaration name: (identifier) @name) @def
        (method_definition name: (property_identifier) @name) @def
        (method_signature name: (property_identifier) @name) @def
        (variable_declarator name: (identifier) @name value: (arrow_function)) @def
        """,
        """
        (import_statement source: (string (string_fragment) @import))
        (export_statement source: (string (string_fragment) @import))
        """,
    ),
    "tsx": (
        tree_sitter_typescript.language_tsx,
        frozenset({"comment"}),
        frozenset({"string", "template_string"}),
        "",  # filled from typescript below
        "",
    ),
    "javascript": (
        tree_sitter_javascript.language,
        frozenset({"comment"}),
        frozenset({"string", "template_string"}),
        """
        (function_declaration name: (identifier) @name) @def
        (generator_function_declaration name: (identifier) @name) @def
        (class_declaration name: (identifier) @name) @def
        (method_definition name: (property_identifier) @name) @def
        (variable_declarator name: (identifier) @name value: (arrow_function)) @def
        """,
        """
        (import_statement source: (string (string_fragment) @import))
        (export_statement source: (string (string_fragment) @import))
        """,
    ),
    "go": (
        tree_sitter_go.language,
        frozenset({"comment"}),
        frozenset({"interpreted_string_literal", "raw_string_literal"}),
        """
        (function_declaration name: (identifier) @name) @def
        (method_declaration name: (field_identifier) @name) @def
        (type_spec name: (type_identifier) @name) @def
        """,
        """
        (import_spec path: (interpreted_string_literal) @import)
        """,
    ),
    "rust": (
        tree_sitter_rust.language,
        frozenset({"line_comment", "block_comment"}),
        frozenset({"string_literal", "raw_string_literal"}),
        """
        (function_item name: (identifier) @name) @def
        (function_signature_item name: (identifier) @name) @def
        (struct_item name: (type_identifier) @name) @def
        (enum_item name: (type_identifier) @name) @def
        (trait_item name: (type_identifier) @name) @def
        (type_item name: (type_identifier) @name) @def
        """,
        """
        (use_declaration argument: (_) @import)
        (extern_crate_declaration name: (identifier) @import)
        """,
    ),
    "java": (
        tree_sitter_java.language,
        frozenset({"line_comment", "block_comment"}),
        frozenset({"string_literal"}),
        """
        (method_declaration name: (identifier) @name) @def
        (constructor_declaration name: (identifier) @name) @def
        (class_declaration name: (identifier) @name) @def
        (interface_declaration name: (identifier) @name) @def
        (enum_declaration name: (identifier) @name) @def
        (record_declaration name: (identifier) @name) @def
        """,
        """
        (import_declaration (scoped_identifier) @import)
        """,
    ),
}
# Type annotations a codemod may rewrite without changing what runs: parameter and return types,
# variables' hints, `from __future__ import annotations` and typing imports (Python); type
# annotations, type arguments and `import type` (TypeScript). A class field's hint (@a inside a
# class) stays code: dataclasses, attrs and pydantic run on it.
_ANNOTATIONS = {
    "python": """
        (typed_parameter type: (_) @t)
        (typed_default_parameter type: (_) @t)
        (function_definition return_type: (_) @t)
        (assignment type: (_) @a)
        (future_import_statement) @t
        (import_from_statement module_name: (dotted_name) @m) @imp
        """,
    "typescript": """
        (type_annotation) @t
        (type_arguments) @t
        (import_statement "type" @t)
        (import_specifier "type" @t)
        (export_statement "type" @t)
        """,
}
# Named constants whose value is part of a module's contract (which are public is decided in
# app/plan/facts/syntax.py): module-level assignments, exported consts, Go consts, Java static
# final fields and enum constants' arguments, Rust consts and statics.
_CONSTANTS = {
    "python": """
        (module (expression_statement
            (assignment left: (identifier) @name right: (_) @value)))
        """,
    "typescript": """
        (export_statement (lexical_declaration
            (variable_declarator name: (identifier) @name value: (_) @value)))
        """,
    "go": "(const_spec name: (identifier) @name value: (_) @value)",
    "java": """
        (field_declaration declarator: (variable_declarator
            name: (identifier) @name value: (_) @value)) @field
        (enum_constant name: (identifier) @name arguments: (argument_list) @value)
        """,
    "rust": """
        (const_item name: (identifier) @name value: (_) @value) @item
        (static_item name: (identifier) @name value: (_) @value) @item
        """,
}
_CONSTANTS["javascript"] = _CONSTANTS["typescript"]
TYPING_MODULES = frozenset({b"typing", b"typing_extensions", b"collections.abc"})

_PUBLIC: dict[str, Callable[[str, Node], bool]] = {
    "python": _python_public,
    "typescript": _script_public,
    "tsx": _script_public,
    "javascript": _script_public,
    "go": _go_public,
    "rust": _rust_public,
    "java": _java_public,
}
_EXTENSIONS = {
    "py": "python",
    "pyi": "python",
    "ts": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "tsx": "tsx",
    "js": "javascript",
    "jsx": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "go": "go",
    "rs": "rust",
    "java": "java",
}
PARSED_LANGUAGES = tuple(sorted(set(_EXTENSIONS.values())))


def language_of(path: str) -> str | None:
    """The grammar's name for a path's extension, or None (line signals apply)."""
    name = path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _EXTENSIONS.get(ext)


@functools.cache
def grammar(name: str) -> Grammar:
    """The compiled grammar and queries of one language (built once per process)."""
    factory, comments, strings, definitions, imports = _SPECS[name]
    if name == "tsx":
        definitions, imports = _SPECS["typescript"][3], _SPECS["typescript"][4]
    language = Language(factory())
    noncode = " ".join(f"({kind}) @x" for kind in sorted(comments | strings))
    script = "typescript" if name == "tsx" else name
    annotations, constants = _ANNOTATIONS.get(script), _CONSTANTS.get(script)
    parts = [noncode, imports, definitions, constants or "", annotations or ""]
    ends = tuple(accumulate(Query(language, part).pattern_count if part else 0 for part in parts))
    return Grammar(
        name=name,
        language=language,
        comments=comments,
        strings=strings,
        public=_PUBLIC[name],
        scan=Query(language, "\n".join(parts)),
        scan_ends=ends,
        reads_constants=constants is not None,
        reads_annotations=annotations is not None,
    )


@functools.cache
def parser(name: str) -> Parser:
    """A parser for one language, reused across files (parsing is single-threaded here)."""
    return Parser(grammar(name).language)
