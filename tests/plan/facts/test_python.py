"""Python change facts on snippets shaped like real library code."""

from __future__ import annotations

from tests.plan.facts.helpers import facts

POOL = '''\
import logging

log = logging.getLogger(__name__)


def create_context(
    ssl_version=None,
    cert_reqs=None,
    options=None,
):
    """Build a context for `ssl_version`.

    Example::

        >>> remove_widget(ctx)  # docs mention names; they are not code
    """
    context = make(ssl_version)
    return context


class PoolManager:
    def urlopen(self, method, url, redirect=True, **kw):
        return self._open(method, url, redirect)
'''


def test_a_multi_line_parameter_gains_a_keyword_only_parameter() -> None:
    new = POOL.replace(
        "    options=None,\n):", "    options=None,\n    *,\n    verify_flags=None,\n):"
    )
    found = facts("src/pool.py", POOL, new)
    assert "surface.signature" in found
    assert "create_context" in found["surface.signature"]


def test_a_default_change_is_a_signature_change() -> None:
    new = POOL.replace("redirect=True", "redirect=False")
    assert "surface.signature" in facts("src/pool.py", POOL, new)


def test_annotations_alone_are_not_a_parameter_change() -> None:
    new = POOL.replace("def urlopen(self, method, url,", "def urlopen(self, method: str, url: str,")
    found = facts("src/pool.py", POOL, new)
    assert "surface.annotation" in found and "surface.signature" not in found


def test_a_docstring_example_naming_a_function_is_not_code() -> None:
    """The bug: `remove_widget(` in a docstring read as 'removes public name'."""
    new = POOL.replace(">>> remove_widget(ctx)", ">>> add_widget(ctx)")
    found = facts("src/pool.py", POOL, new)
    assert not any(f.startswith("surface.") for f in found), found
    assert list(found) == ["mechanical.strings_only"]


def test_a_comment_mentioning_subprocess_is_not_a_shell_call() -> None:
    new = POOL.replace(
        "    context = make(ssl_version)\n",
        "    # subprocess.run(cmd, shell=True) was here\n    context = make(ssl_version)\n",
    )
    assert "security.shell" not in facts("src/pool.py", POOL, new)
    called = POOL.replace(
        "    context = make(ssl_version)\n",
        "    subprocess.run(cmd)\n    context = make(ssl_version)\n",
    )
    assert "security.shell" in facts("src/pool.py", POOL, called)


def test_removing_and_renaming_public_definitions() -> None:
    gone = POOL.replace(
        "    def urlopen(self, method, url, redirect=True, **kw):\n"
        "        return self._open(method, url, redirect)\n",
        "    pass\n",
    )
    assert "surface.removed" in facts("src/pool.py", POOL, gone)
    renamed = POOL.replace("def urlopen(", "def request(")
    found = facts("src/pool.py", POOL, renamed)
    assert "surface.renamed" in found and "urlopen" in found["surface.renamed"]


def test_private_helpers_are_not_public_surface() -> None:
    old = POOL + "\n\ndef _helper(a):\n    return a\n"
    new = POOL + "\n\ndef _helper(a, b):\n    return a\n"
    assert not any(f.startswith("surface.") for f in facts("src/pool.py", old, new))


def test_exports_and_deprecations() -> None:
    old = '__all__ = ["PoolManager"]\n' + POOL
    new = '__all__ = ["PoolManager", "create_context"]\n' + POOL
    assert "surface.export" in facts("src/pool.py", old, new)
    warned = POOL.replace(
        "    context = make(ssl_version)\n",
        "    warnings.warn('ssl_version is deprecated', DeprecationWarning)\n"
        "    context = make(ssl_version)\n",
    )
    assert "surface.deprecation" in facts("src/pool.py", POOL, warned)


def test_imports_gain_a_third_party_package_not_the_standard_library() -> None:
    assert "imports.package_added" in facts("src/pool.py", POOL, "import certifi\n" + POOL)
    assert "imports.package_added" not in facts("src/pool.py", POOL, "import json\n" + POOL)
    old = "import simplejson\n" + POOL
    found = facts("src/pool.py", old, old.replace("import simplejson\n", "import orjson\n"))
    assert "simplejson" in found["imports.package_removed"]
    assert "orjson" in found["imports.package_added"]


def test_security_concurrency_state_and_resilience_apis() -> None:
    body = "    context = make(ssl_version)\n"
    cases = {
        "security.tls": "    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n",
        "security.crypto": "    digest = hashlib.sha256(data).hexdigest()\n",
        "security.deserialize": "    state = pickle.loads(blob)\n",
        "state.concurrency": "    lock = threading.Lock()\n",
        "resilience.retry": "    retries = Retry(total=3, backoff_factor=0.5)\n",
    }
    for fact, line in cases.items():
        assert fact in facts("src/pool.py", POOL, POOL.replace(body, line + body)), fact
    shared = POOL.replace(
        "log = logging.getLogger(__name__)\n", "log = logging.getLogger(__name__)\n_POOLS = {}\n"
    )
    assert "state.shared" in facts("src/pool.py", POOL, shared)
    error = POOL + "\n\nclass ProxySchemeUnsupported(ValueError):\n    pass\n"
    assert "resilience.exceptions" in facts("src/pool.py", POOL, error)


def test_a_black_run_is_formatting_only() -> None:
    old = "def f(a,b):\n    return {'a':a,'b':(b)}\n\nx = f(1,\n      2)\n"
    new = 'def f(a, b):\n    return {"a": a, "b": b}\n\n\nx = f(\n    1,\n    2,\n)\n'
    assert list(facts("src/fmt.py", old, new)) == ["mechanical.format_only"]


def test_one_local_identifier_renamed_throughout() -> None:
    old = "def total(items):\n    acc = 0\n    for i in items:\n        acc += i\n    return acc\n"
    new = old.replace("acc", "running")
    found = facts("src/calc.py", old, new)
    assert list(found) == ["mechanical.rename"] and "acc -> running" in found["mechanical.rename"]


def test_a_hunk_that_starts_inside_a_parameter_list_still_reads_as_one() -> None:
    """A method's `def` line out of the hunk's context (git's header names only the class)."""
    old = (
        "class Metafunc:\n    def parametrize(\n        self,\n        argnames: str,\n"
        "        argvalues: list[object],\n        indirect: bool = False,\n"
        "        ids: list[str] | None = None,\n        *,\n        _mark: object = None,\n"
        "    ) -> None:\n        x = 1\n        y = 2\n        return None\n"
    )
    new = old.replace("        *,\n        _mark", "        _mark").replace(
        "        indirect: bool", "        *,\n        indirect: bool"
    )
    found = facts("src/python.py", old, new)
    assert "surface.signature" in found, found
    assert "(the definition whose hunk starts at line" in found["surface.signature"]


def test_a_return_type_from_none_to_a_value_is_a_signature_change() -> None:
    old = "class Resource:\n    def set_route(self, handler) -> None:\n        self.h = handler\n"
    new = old.replace("-> None:", "-> Route:")
    assert "surface.signature" in facts("src/web.py", old, new)


def test_sorted_imports_are_a_pure_move() -> None:
    old = "import sys\nimport os\nfrom a import b\n\n\ndef f():\n    return os.sep\n"
    new = "import os\nimport sys\n\nfrom a import b\n\n\ndef f():\n    return os.sep\n"
    assert list(facts("src/mod.py", old, new)) == ["mechanical.moved"]


def test_two_statements_swapped_are_not_a_move() -> None:
    old = "def f(x):\n    check(x)\n    use(x)\n    return x\n"
    new = "def f(x):\n    use(x)\n    check(x)\n    return x\n"
    assert "mechanical.moved" not in facts("src/mod.py", old, new)


def test_a_definition_moved_within_the_file_is_a_move() -> None:
    one = "def one():\n    value = 1\n    return value\n"
    two = "def two():\n    return 2\n"
    old = f"{one}\n\n{two}\n\ndef three():\n    return 3\n"
    new = f"{two}\n\ndef three():\n    return 3\n\n\n{one}"
    assert list(facts("src/mod.py", old, new)) == ["mechanical.moved"]


def test_a_type_hint_codemod_changes_only_annotations() -> None:
    old = (
        "from typing import List, Optional\n\n\n"
        "def pick(items: List[str], default: Optional[str] = None) -> Optional[str]:\n"
        "    return items[0] if items else default\n"
    )
    new = (
        "from __future__ import annotations\n\n\n"
        "def pick(items: list[str], default: str | None = None) -> str | None:\n"
        "    return items[0] if items else default\n"
    )
    assert list(facts("src/pick.py", old, new)) == ["mechanical.annotations"]


def test_a_field_annotation_is_code_not_a_hint() -> None:
    """pydantic, attrs and dataclasses run on a class field's annotation."""
    old = "class Settings(BaseModel):\n    port: int = 80\n    host: str = 'x'\n"
    new = old.replace("port: int", "port: str")
    assert "mechanical.annotations" not in facts("src/settings.py", old, new)


def test_a_hunk_inside_a_docstring_is_prose_not_code() -> None:
    """The hunk has no triple quote of its own: git cut it out of a class docstring."""
    doc = "\n".join(
        f"    :param int option_{n}:\n        What option {n} does, in a sentence or two.\n"
        for n in range(12)
    )
    body = "    def __init__(self):\n        self.total = 3\n"
    old = f'class Retry:\n    """Retry configuration.\n\n{doc}\n    """\n\n{body}'
    new = old.replace(
        "    :param int option_6:\n",
        "    :param float backoff_max:\n"
        "        The maximum backoff time (in seconds) between retry attempts.\n\n"
        "    :param int option_6:\n",
    )
    found = facts("src/retry.py", old, new)
    assert list(found) == ["mechanical.strings_only"], found
