"""The pull requests of the fault campaign: varied real-looking diffs and their opened webhooks."""

from __future__ import annotations

import copy
import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

from tests.conftest import EXAMPLE_DIFF
from tests.review.test_pull_request import pr_files

# (owner, repository, installation id): two installations, so two tenants share the workers.
REPOSITORIES = (("acme", "api", 101), ("acme", "web", 101), ("globex", "billing", 202))
SERVICES = ("billing", "orders", "search", "users", "payments", "reports")
BASE_SHA = "b" * 40
# The example's binary files carry no patch; a PR of them alone would have nothing to review.
_BINARY = (".png", ".ttf")


@dataclass(frozen=True, slots=True)
class FaultPR:
    """One PR of the campaign: where it lives, its head, its diff and its delivery id."""

    owner: str
    repo: str
    number: int
    installation: int
    head_sha: str
    title: str
    diff: str
    delivery_id: str

    @property
    def repository(self) -> str:
        """`OWNER/REPO`."""
        return f"{self.owner}/{self.repo}"


def example_files() -> list[str]:
    """The example diff cut into one diff per text file."""
    text = EXAMPLE_DIFF.read_text("utf-8")
    parts = ["diff --git" + p for p in text.split("diff --git")[1:]]
    return [p for p in parts if not p.split("\n", 1)[0].endswith(_BINARY)]


def _new_file(path: str, lines: list[str]) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def _module(service: str, n: int, rng: random.Random) -> list[str]:
    """A small new module in one of a few shapes, named after the PR."""
    ttl, limit = rng.choice((30, 60, 300, 900)), rng.choice((10, 50, 100, 500))
    shapes = [
        [
            f'"""Cache of {service} lookups (PR {n})."""',
            "",
            "import threading",
            "import time",
            "",
            f"_TTL_S = {ttl}",
            "",
            "",
            f"class Cache{n}:",
            "    def __init__(self):",
            "        self._items = {}",
            "        self._lock = threading.Lock()",
            "",
            "    def get(self, key):",
            "        entry = self._items.get(key)",
            "        if entry and entry[1] > time.time():",
            "            return entry[0]",
            "        return None",
            "",
            "    def put(self, key, value):",
            "        self._items[key] = (value, time.time() + _TTL_S)",
        ],
        [
            f'"""Queries for {service} (PR {n})."""',
            "",
            "",
            f"def find_{service}_{n}(db, name):",
            f"    query = \"SELECT * FROM {service} WHERE name = '%s'\" % name",
            "    return db.execute(query).fetchall()",
            "",
            "",
            f"def count_{service}_{n}(db):",
            f'    return db.execute("SELECT COUNT(*) FROM {service}").fetchone()[0]',
        ],
        [
            f'"""Parse {service} requests (PR {n})."""',
            "",
            "import json",
            "",
            "",
            f"def parse_{n}(raw):",
            "    data = json.loads(raw)",
            f"    if data['size'] > {limit}:",
            "        return None",
            "    return data['items'][0]",
        ],
        [
            f'"""Retry calls to the {service} backend (PR {n})."""',
            "",
            "import time",
            "",
            "",
            f"def call_with_retry_{n}(send, attempts={rng.randint(2, 6)}):",
            "    for attempt in range(attempts):",
            "        try:",
            "            return send()",
            "        except Exception:",
            "            time.sleep(2 ** attempt)",
            "    return send()",
        ],
    ]
    return rng.choice(shapes)


def _settings_change(service: str, n: int) -> str:
    """A hunk in an existing file, with context lines around the change."""
    path = f"src/{service}/settings.py"
    return (
        f"diff --git a/{path} b/{path}\n"
        "index 1111111..2222222 100644\n"
        f"--- a/{path}\n"
        f"+++ b/{path}\n"
        "@@ -10,6 +10,8 @@ DEFAULTS = {\n"
        '     "host": "localhost",\n'
        '     "timeout_s": 10,\n'
        '     "retries": 3,\n'
        f'+    "feature_{n}": True,\n'
        f'+    "feature_{n}_limit": {n * 10},\n'
        '     "debug": False,\n'
        " }\n"
        " \n"
    )


def build_prs(count: int, seed: int) -> list[FaultPR]:
    """`count` PRs spread over the repositories; the same seed gives the same PRs."""
    examples = example_files()
    prs = []
    for n in range(1, count + 1):
        rng = random.Random(f"{seed}-{n}")
        owner, repo, installation = REPOSITORIES[n % len(REPOSITORIES)]
        service = rng.choice(SERVICES)
        parts = [_new_file(f"src/{service}/change_{n}.py", _module(service, n, rng))]
        if rng.random() < 0.5:
            parts.append(_settings_change(service, n))
        parts += rng.sample(examples, rng.randint(0, 2))
        digest = hashlib.sha256(f"faults-{seed}-{n}".encode()).digest()
        prs.append(
            FaultPR(
                owner=owner,
                repo=repo,
                number=n,
                installation=installation,
                head_sha=hashlib.sha1(digest).hexdigest(),
                title=f"Change {service} ({n})",
                diff="".join(parts),
                delivery_id=str(uuid.UUID(bytes=digest[:16], version=4)),
            )
        )
    return prs


def open_prs(gh: Any, prs: list[FaultPR]) -> None:
    """Open every PR in the fake GitHub."""
    for pr in prs:
        gh.open_pr(
            pr.owner,
            pr.repo,
            pr.number,
            title=pr.title,
            body=f"{pr.title}: see the diff.",
            base_sha=BASE_SHA,
            head_sha=pr.head_sha,
            files=pr_files(pr.diff),
            user="Codertocat",
        )


def opened_body(template: dict[str, Any], pr: FaultPR) -> bytes:
    """The real `pull_request.opened` payload moved to `pr` (number, head, repository, app)."""
    data = copy.deepcopy(template)
    data["number"] = pr.number
    data["installation"]["id"] = pr.installation
    pull = data["pull_request"]
    pull["number"], pull["title"] = pr.number, pr.title
    pull["head"]["sha"], pull["base"]["sha"] = pr.head_sha, BASE_SHA
    for repository in (data["repository"], pull["head"]["repo"], pull["base"]["repo"]):
        repository["name"] = pr.repo
        repository["full_name"] = pr.repository
        repository["owner"]["login"] = pr.owner
    return json.dumps(data).encode()
