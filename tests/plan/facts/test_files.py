"""Whole-file change facts: both sides parsed whole when the files before and after are at hand."""

from __future__ import annotations

from dataclasses import replace

from app.plan.config import Difficulty
from app.plan.diff import parse_diff
from app.plan.facts.facts import code_facts
from app.plan.facts.files import changed_rows, compare_files
from app.plan.facts.grammar import language_of
from app.plan.planner import build_plan
from tests.conftest import InputsFactory
from tests.plan.facts.helpers import APIS, file_diff


def _both(path: str, old: str, new: str) -> tuple[dict[str, str], dict[str, str]]:
    """(facts from the whole files, facts from the hunks alone) of one change."""
    (file,) = parse_diff(file_diff(path, old, new))
    language = language_of(path)
    assert language is not None
    syntax = compare_files(language, file.hunks, old, new)
    assert syntax is not None, "the files agree with their own diff"
    whole = dict(code_facts(path, language, file.hunks, APIS, lambda: syntax))
    return whole, dict(code_facts(path, language, file.hunks, APIS))


# urllib3's connection pool: a long untyped parameter list, so a hunk near its end has no header.
POOL = '''\
import logging

import certifi

log = logging.getLogger(__name__)


class HTTPConnectionPool:
    """A pool of connections to one host."""

    def __init__(
        self,
        host,
        port=None,
        timeout=None,
        maxsize=1,
        block=False,
        headers=None,
        retries=None,
    ):
        self.host = host
        self.port = port

    def close(self):
        self.pool = None


def _ca_bundle():
    return certifi.where()
'''


def test_python_a_signature_cut_by_the_hunk_is_named_from_the_whole_file() -> None:
    new = POOL.replace(
        "        retries=None,\n", "        retries=None,\n        *,\n        tls=None,\n"
    )
    whole, hunks = _both("src/pool.py", POOL, new)
    assert "def __init__( self, host," in whole["surface.signature"]
    assert "tls=None" in whole["surface.signature"]
    assert "__init__" not in hunks.get("surface.signature", "")


def test_python_an_import_already_made_elsewhere_is_not_a_new_package() -> None:
    new = POOL.replace("    def close(self):\n", "    def close(self):\n        import certifi\n\n")
    whole, hunks = _both("src/pool.py", POOL, new)
    assert "imports.package_added" in hunks  # the hunk cannot see the import at the top
    assert "imports.package_added" not in whole
    fresh = POOL.replace("    def close(self):\n", "    def close(self):\n        import idna\n\n")
    whole, _ = _both("src/pool.py", POOL, fresh)
    assert whole["imports.package_added"] == "imports a new package: idna"


def test_python_strings_are_blanked_exactly_without_docstring_guesses() -> None:
    old = POOL.replace(
        '    """A pool of connections to one host."""\n',
        '    """A pool.\n\n' + "    x\n" * 8 + '    """\n',
    )
    new = old.replace("    x\n" * 3, "    >>> remove_pool(pool)\n" + "    x\n" * 2, 1)
    whole, _ = _both("src/pool.py", old, new)
    assert list(whole) == ["mechanical.strings_only"]


TS = """\
import { z } from "zod";
import { parse } from "./parse";
import { join } from "./join";
import { split } from "./split";
import { trim } from "./trim";

export interface Options {
  timeout?: number;
}

export function createClient(
  baseUrl: string,
  options: Options = {},
  headers: Record<string, string> = {},
  agent: unknown = undefined,
  signal: AbortSignal | null = null,
): Client {
  return new Client(baseUrl, options);
}

export function validate(input: unknown): boolean {
  return z.string().safeParse(input).success;
}
"""


def test_typescript_a_signature_cut_by_the_hunk_is_named_from_the_whole_file() -> None:
    new = TS.replace(
        "  signal: AbortSignal | null = null,\n",
        "  signal: AbortSignal | null = null,\n  retries = 2,\n",
    )
    whole, hunks = _both("src/client.ts", TS, new)
    # git's section header reopens the list for the hunk, but its first parameters are cut off
    assert "createClient( baseUrl: string," in whole["surface.signature"]
    assert "baseUrl" not in hunks["surface.signature"]


def test_typescript_a_second_import_of_a_package_is_not_new() -> None:
    new = TS.replace(
        'import { trim } from "./trim";\n',
        'import { trim } from "./trim";\nimport type { ZodError } from "zod";\n',
    )
    whole, hunks = _both("src/client.ts", TS, new)
    assert "imports.package_added" in hunks
    assert "imports.package_added" not in whole


GO = """\
package server

import (
\t"net/http"
\t"time"
)

// NewServer builds a server listening on addr.
func NewServer(
\taddr string,
\thandler http.Handler,
\treadTimeout time.Duration,
\twriteTimeout time.Duration,
\tidleTimeout time.Duration,
) *http.Server {
\treturn &http.Server{Addr: addr, Handler: handler}
}

func helper(a int) int {
\treturn a + 1
}
"""


def test_go_a_signature_cut_by_the_hunk_is_named_from_the_whole_file() -> None:
    new = GO.replace(
        "\tidleTimeout time.Duration,\n", "\tidleTimeout time.Duration,\n\tmaxHeader int,\n"
    )
    whole, hunks = _both("server/server.go", GO, new)
    assert "func NewServer( addr string, handler http.Handler," in whole["surface.signature"]
    assert "addr string" not in hunks["surface.signature"]


def test_go_a_new_module_path_is_still_a_new_package() -> None:
    new = GO.replace('\t"time"\n', '\t"time"\n\n\t"github.com/gin-gonic/gin"\n')
    whole, _ = _both("server/server.go", GO, new)
    assert whole["imports.package_added"] == "imports a new package: github.com/gin-gonic/gin"


def test_rows_come_from_the_hunks_and_disagreement_is_none() -> None:
    new = POOL.replace("        block=False,\n", "        block=True,\n")
    (file,) = parse_diff(file_diff("src/pool.py", POOL, new))
    rows = changed_rows(file.hunks, POOL.split("\n"), new.split("\n"))
    row = POOL.split("\n").index("        block=False,")
    assert rows == (frozenset({row}), frozenset({row}))
    assert changed_rows(file.hunks, new.split("\n"), new.split("\n")) is None
    assert (
        compare_files("python", file.hunks, POOL.replace("headers=None", "headers={}"), new) is None
    )


def _planned(
    make_inputs: InputsFactory, path: str, old: str, new: str, original: str | None = None
) -> tuple[Difficulty, tuple[str, ...]]:
    """The chunk's label planned with the whole files (`original` stands in for the base)."""
    inputs = replace(
        make_inputs(),
        sources={path: new},
        originals={path: old if original is None else original},
    )
    (chunk,) = build_plan(file_diff(path, old, new), inputs).chunks
    return chunk.difficulty, chunk.reasons


def test_a_whole_file_formatter_run_is_trivial_in_each_language(
    make_inputs: InputsFactory,
) -> None:
    reformatted = {
        "src/pool.py": (
            POOL,
            POOL.replace(
                "    def close(self):\n        self.pool = None\n",
                "    def close(self): self.pool = None  # noqa\n",
            ).replace("import logging\n", "import logging  # the standard logger\n"),
        ),
        "src/client.ts": (TS, TS.replace('"zod"', "'zod'").replace("  return a", "    return a")),
        "server/server.go": (
            GO,
            GO.replace("// NewServer builds", "// NewServer returns").replace(
                "Handler: handler}", "\n\t\tHandler: handler,\n\t}"
            ),
        ),
    }
    for path, (old, new) in reformatted.items():
        difficulty, reasons = _planned(make_inputs, path, old, new)
        assert difficulty is Difficulty.TRIVIAL, (path, reasons)
        assert reasons[0].startswith("mechanical.format_only"), (path, reasons)
        assert reasons[-1].startswith("facts: compared whole files as "), (path, reasons)


def test_contents_that_disagree_with_the_hunks_fall_back_to_the_hunks(
    make_inputs: InputsFactory,
) -> None:
    new = POOL.replace(
        "        retries=None,\n", "        retries=None,\n        *,\n        tls=None,\n"
    )
    _, reasons = _planned(make_inputs, "src/pool.py", POOL, new)
    assert reasons[-1] == "facts: compared whole files as python"
    stale = POOL.replace("        self.port = port\n", "        self.port = port or 80\n")
    _, fallback = _planned(make_inputs, "src/pool.py", POOL, new, original=stale)
    assert fallback[-1] == "facts: parsed as python (the whole files disagree with the hunks)"
    bare = build_plan(file_diff("src/pool.py", POOL, new), make_inputs())
    assert bare.chunks[0].reasons[-1] == "facts: parsed as python"


def test_a_change_inside_a_named_tuple_of_tls_settings_reads_its_name_from_whole_files() -> None:
    """No definition encloses the row: the module-level assignment's name does (from the whole
    files), or git's section header (from the hunks, which add strings only)."""
    old = (
        "import functools\n\n"
        "SSL_KEYWORDS = (\n    'key_file',\n    'cert_file',\n    'cert_reqs',\n"
        "    'ca_certs',\n    'ssl_version',\n)\n\n\ndef pools():\n    return 1\n"
    )
    new = old.replace("    'ssl_version',\n", "    'ssl_version',\n    'assert_hostname',\n")
    whole, hunks = _both("src/poolmanager.py", old, new)
    assert "security.tls" in whole and "security.tls" in hunks


def test_security_header_names_in_strings_are_data_facts_not_code() -> None:
    """Java: stripping credentials on a cross-origin redirect names them only in strings."""
    old = (
        "package a;\n\nclass Client {\n    Response follow(Request req, URL next) {\n"
        "        req.url(next);\n        return execute(req);\n    }\n}\n"
    )
    new = old.replace(
        "        req.url(next);\n",
        "        if (!sameOrigin(req.url(), next)) {\n"
        '            req.removeHeader("Authorization");\n'
        '            req.removeHeader("Cookie");\n        }\n        req.url(next);\n',
    )
    whole, hunks = _both("src/main/java/a/Client.java", old, new)
    for found in (whole, hunks):
        assert "security.auth" in found, found
        assert "a changed string holds" in found["security.auth"]
    message = new.replace('"Cookie"', '"a Cookie jar is full"')  # prose that mentions a word
    assert (
        "security.auth"
        not in _both(
            "src/main/java/a/Client.java",
            old,
            message.replace('            req.removeHeader("Authorization");\n', ""),
        )[0]
    )
    python = "def send(headers):\n    return post(headers)\n"
    forwarded = python.replace("    return", "    headers.pop('X-Forwarded-For', None)\n    return")
    assert "security.input" in _both("src/client.py", python, forwarded)[0]
