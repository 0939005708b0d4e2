"""Surrounding code from the local checkout, for substantive and architectural chunks."""

from __future__ import annotations

from pathlib import Path

from app.local.checkout import read_sources
from app.plan.context import surrounding_code
from app.plan.diff import parse_diff
from app.plan.planner import build_plan
from tests.conftest import InputsFactory, git

OLD = "".join(
    [
        "import os\n\n\n",
        "class Store:\n",
        '    """Keeps things."""\n\n',
        "    def load(self, key):\n",
        "        path = os.path.join(self.root, key)\n",
        "        with open(path) as fh:\n",
        "            return fh.read()\n\n",
        "    def save(self, key, value):\n",
        "        path = os.path.join(self.root, key)\n",
        "        with open(path, 'w') as fh:\n",
        "            fh.write(value)\n\n\n",
        "def helper():\n",
        "    return 1\n",
    ]
)


def _diff(repo: Path) -> str:
    (repo / "store.py").write_text(OLD)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    new = OLD.replace(
        "            fh.write(value)\n",
        "            fh.write(value)\n            fh.flush()\n            os.fsync(fh.fileno())\n",
    )
    (repo / "store.py").write_text(new)
    return git(repo, "diff", "-U1")


def test_enclosing_method_is_found(repo: Path) -> None:
    (file,) = parse_diff(_diff(repo))
    text = surrounding_code("store.py", (repo / "store.py").read_text(), file.hunks, 2000, len)
    assert "def save(self, key, value):" in text and "os.fsync" in text
    assert "def load" not in text and "def helper" not in text
    capped = surrounding_code("store.py", (repo / "store.py").read_text(), file.hunks, 40, len)
    assert "left out: token cap" in capped


def test_sources_only_when_the_checkout_matches_the_diff(repo: Path, tmp_path: Path) -> None:
    files = parse_diff(_diff(repo))
    assert set(read_sources(repo, files)) == {"store.py"}
    other = tmp_path / "other"
    other.mkdir()
    (other / "store.py").write_text("something else entirely\n")
    assert read_sources(other, files) == {}
    escape = parse_diff(
        "diff --git a/../x.py b/../x.py\n--- a/../x.py\n+++ b/../x.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert read_sources(repo, escape) == {}


def test_review_requests_carry_the_context(repo: Path, make_inputs: InputsFactory) -> None:
    text = _diff(repo)
    files = parse_diff(text)
    inputs = make_inputs({"difficulty": {"signals": {"size.small": "substantive"}}})
    with_context = type(inputs)(
        **{
            **{f: getattr(inputs, f) for f in inputs.__dataclass_fields__},
            "sources": read_sources(repo, files),
        }
    )
    plain = build_plan(text, inputs)
    rich = build_plan(text, with_context)
    review = [r.request for r in rich.requests if r.request.task.value == "review"][0]
    assert "### Surrounding code of store.py" in review.user
    assert review.user.index("Surrounding code") < review.user.index("diff --git")
    plain_review = [r.request for r in plain.requests if r.request.task.value == "review"][0]
    assert review.input_o200k > plain_review.input_o200k
