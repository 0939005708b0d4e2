"""Packaged data at the edge: the model catalog, the default config and the prompts."""

from __future__ import annotations

import copy
import datetime as dt
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.errors import ConfigError
from app.plan.catalog import Catalog, ModelEntry, parse_catalog
from app.plan.config import Config, Mode, build_config, parse_repo_config
from app.plan.packing import Prompts, PullRequestInfo
from app.plan.planner import PlanInputs
from app.plan.tokens import load_counter


def _data(name: str) -> dict[str, Any]:
    """A fresh copy of a packaged YAML file: callers may change what they get."""
    return copy.deepcopy(_parsed(name))


@functools.cache
def _parsed(name: str) -> dict[str, Any]:
    # Parsed once per process: the App reads the defaults and the catalog on every job, and
    # parsing them took tens of milliseconds of CPU each time.
    text = resources.files("app").joinpath("data", name).read_text("utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def prompts_dir() -> Path:
    """`app/prompts` in an installed wheel; the repository's `prompts/` in a checkout."""
    packaged = Path(str(resources.files("app"))) / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


def load_prompts() -> Prompts:
    """The system prompts, byte for byte as shipped."""
    folder = prompts_dir()
    read = {
        n: (folder / f"{n}.md").read_bytes().decode("utf-8")
        for n in ("review", "summary", "cross_cutting")
    }
    return Prompts(
        review=read["review"], summary=read["summary"], cross_cutting=read["cross_cutting"]
    )


def load_reply_prompt() -> str:
    """The system prompt of thread replies, byte for byte as shipped."""
    return (prompts_dir() / "reply.md").read_bytes().decode("utf-8")


def default_config_data() -> dict[str, Any]:
    """The defaults as a mapping, before any repo config (the difficulty model included)."""
    data = _data("defaults.yaml")
    data["difficulty"]["model"] = _data("difficulty-model.yaml")
    return data


def default_config_text() -> str:
    """The packaged defaults file's text, comments included (the configuration reference)."""
    return resources.files("app").joinpath("data", "defaults.yaml").read_text("utf-8")


def load_config(path: Path | None) -> Config:
    """The defaults with the repo config at `path` (if any) merged over them."""
    repo: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{path}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x})"
            ) from exc
        repo = parse_repo_config(text, source)
    return build_config(default_config_data(), repo, source)


def load_catalog(config: Config, models_file: str | None = None) -> Catalog:
    """The packaged model catalog with the operator's model definitions over it.

    Those come from the defaults' `models:` and the operator's file (`TIERED_REVIEW_MODELS_FILE`),
    never from a repository: `parse_repo_config` refuses a repository's `models:`.
    """
    return parse_catalog(_data("models.yaml"), {**config.models, **operator_models(models_file)})


def operator_models(path: str | None) -> dict[str, ModelEntry]:
    """The model entries of the operator's file, a YAML mapping with a `models:` key."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"TIERED_REVIEW_MODELS_FILE: cannot read {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"TIERED_REVIEW_MODELS_FILE: {path}: not valid YAML: {exc}") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigError(f"TIERED_REVIEW_MODELS_FILE: {path}: needs a `models:` mapping")
    try:
        return {str(key): ModelEntry.model_validate(entry) for key, entry in models.items()}
    except ValidationError as exc:
        raise ConfigError(f"TIERED_REVIEW_MODELS_FILE: {path}: {exc.errors()[0]['msg']}") from exc


def plan_inputs(
    config: Config, mode: Mode = Mode.NORMAL, pr: PullRequestInfo | None = None
) -> tuple[PlanInputs, str | None]:
    """Plan inputs for `config` from the packaged catalog and prompts, the tokenizer and today.

    The second value is the tokenizer's fallback warning, None when tiktoken's files loaded.
    """
    counter, warning = load_counter()
    inputs = PlanInputs(
        config=config,
        catalog=load_catalog(config),
        prompts=load_prompts(),
        counter=counter,
        today=dt.date.today(),
        mode=mode,
        pr=pr if pr is not None else PullRequestInfo(),
    )
    return inputs, warning
