"""`serve` checks its GitHub credentials at start; `/readyz` says whether the App can work."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import pytest

from app.errors import AppAuthError, ConfigError, TieredReviewError
from app.server.readiness import require_credentials
from app.server.service import build_server
from app.settings import Settings
from tests.fakes.server import serve
from tests.gh.test_app_auth import _pem
from tests.server.test_http import SECRET, payload, sign
from tests.test_cli import run

NOT_A_KEY = "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n"


def test_credentials_are_checked_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(TieredReviewError, match="no GitHub credentials"):
        require_credentials(Settings.from_env({}))
    require_credentials(Settings.from_env({"GITHUB_TOKEN": "ghs_x"}))
    require_credentials(
        Settings.from_env({"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY": _pem()})
    )
    with pytest.raises(AppAuthError, match="cannot sign a JWT") as bad:
        require_credentials(
            Settings.from_env({"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY": NOT_A_KEY})
        )
    assert "bm90IGEga2V5" not in str(bad.value)  # the key never reaches a message
    with pytest.raises(ConfigError, match="no private key"):
        require_credentials(Settings.from_env({"GITHUB_APP_ID": "42", "GITHUB_TOKEN": "t"}))
    with pytest.raises(ConfigError, match="GITHUB_APP_ID is unset"):
        require_credentials(Settings.from_env({"GITHUB_APP_PRIVATE_KEY": _pem()}))
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigError, match="GITHUB_APP_PRIVATE_KEY_PATH: cannot read"):
        require_credentials(
            Settings.from_env({"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY_PATH": missing})
        )


@pytest.mark.parametrize("case", ["nothing", "bad-pem"])
def test_serve_exits_2_with_one_line_without_usable_credentials(tmp_path: Path, case: str) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(NOT_A_KEY)
    env = {
        "GITHUB_WEBHOOK_SECRET": "s",
        "TIERED_REVIEW_DB": str(tmp_path / "q.db"),
        "GITHUB_TOKEN": "",
        "GITHUB_APP_ID": "42" if case == "bad-pem" else "",
        "GITHUB_APP_PRIVATE_KEY": "",
        "GITHUB_APP_PRIVATE_KEY_PATH": str(pem) if case == "bad-pem" else "",
    }
    done = run("serve", "--port", "9", env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    expected = "cannot sign a JWT" if case == "bad-pem" else "no GitHub credentials"
    assert expected in done.stderr
    assert not (tmp_path / "q.db").exists()  # it stopped before opening anything


def test_readyz_reports_the_database_the_jwt_and_the_last_token_mint(
    tmp_path: Path, counter: object
) -> None:
    from tests.fakes.github_fake import github_fake

    # The fake knows installation 77; the payload names installation 1: its token mint fails.
    with github_fake(installation_id=77) as (gh_url, _gh):
        settings = Settings.from_env(
            {
                "GITHUB_APP_ID": "42",
                "GITHUB_APP_PRIVATE_KEY": _pem(),
                "GITHUB_API_URL": gh_url,
                "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
                "TIERED_REVIEW_DB": str(tmp_path / "q.db"),
                "ANTHROPIC_API_KEY": "k",
                "TIERED_REVIEW_GITHUB_THROTTLE": "false",
                "TIERED_REVIEW_MAX_ATTEMPTS": "1",
            }
        )
        server, engine = build_server(settings)
        try:
            with serve(server, lifespan=True) as url:
                ready = httpx2.get(f"{url}/readyz", timeout=10)
                assert ready.status_code == 200, ready.text
                assert ready.json() == {
                    "status": "ready",
                    "checks": {"database": "ok", "app_jwt": "ok", "token_mint": "ok"},
                }
                body = payload("pull_request.opened.json")
                raw = json.dumps(body).encode()
                headers = {
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": "d-ready",
                    "X-Hub-Signature-256": sign(raw),
                    "Content-Type": "application/json",
                }
                posted = httpx2.post(f"{url}/webhook", content=raw, headers=headers, timeout=10)
                assert posted.status_code == 202
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    ready = httpx2.get(f"{url}/readyz", timeout=10)
                    if ready.status_code == 503:
                        break
                    time.sleep(0.1)
                assert ready.status_code == 503, ready.text
                checks = ready.json()["checks"]
                assert checks["token_mint"] == "installation 1: no token (HTTP 404)"
                assert checks["database"] == "ok" and checks["app_jwt"] == "ok"
                # liveness is another question: the process is up
                assert httpx2.get(f"{url}/healthz", timeout=10).status_code == 200
        finally:
            engine.dispose()
