"""Process settings: provider keys and endpoints plus our own knobs, read once at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from app.errors import ConfigError

# Gemini's OpenAI-compatible endpoint:
# https://ai.google.dev/gemini-api/docs/openai
GEMINI_OPENAI_URL = "https://generativelanguage.googleapis.com/v1beta/openai/"


class Settings(BaseSettings):
    """Everything the process takes from its environment; secrets stay `SecretStr` until used."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Each field reads exactly the variable in its alias, so the names are greppable.
    anthropic_api_key: SecretStr | None = Field(None, alias="ANTHROPIC_API_KEY")
    anthropic_base_url: str | None = Field(None, alias="ANTHROPIC_BASE_URL")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    gemini_api_key: SecretStr | None = Field(None, alias="GEMINI_API_KEY")
    gemini_base_url: str = Field(GEMINI_OPENAI_URL, alias="GEMINI_BASE_URL")
    local_llm_base_url: str | None = Field(None, alias="LOCAL_LLM_BASE_URL")
    local_llm_api_key: SecretStr | None = Field(None, alias="LOCAL_LLM_API_KEY")
    local_llm_json_schema: bool = Field(False, alias="LOCAL_LLM_JSON_SCHEMA")

    github_token: SecretStr | None = Field(None, alias="GITHUB_TOKEN")
    github_api_url: str = Field("https://api.github.com", alias="GITHUB_API_URL")
    bot_login: str = Field("tiered-review[bot]", alias="TIERED_REVIEW_BOT_LOGIN")
    github_throttle: bool = Field(True, alias="TIERED_REVIEW_GITHUB_THROTTLE")

    github_app_id: int | None = Field(None, alias="GITHUB_APP_ID")
    github_app_private_key: SecretStr | None = Field(None, alias="GITHUB_APP_PRIVATE_KEY")
    github_app_private_key_path: str | None = Field(None, alias="GITHUB_APP_PRIVATE_KEY_PATH")
    github_webhook_secret: SecretStr | None = Field(None, alias="GITHUB_WEBHOOK_SECRET")
    database: str | None = Field(None, alias="TIERED_REVIEW_DB")
    workers: int = Field(4, gt=0, alias="TIERED_REVIEW_WORKERS")
    per_installation: int = Field(2, gt=0, alias="TIERED_REVIEW_PER_INSTALLATION")
    lease_s: float = Field(300.0, gt=0, alias="TIERED_REVIEW_LEASE_S")
    # On SIGTERM, how long running jobs may take to finish before they go back to the queue.
    drain_s: float = Field(25.0, gt=0, alias="TIERED_REVIEW_DRAIN_S")
    # Every process death costs each job it was running one attempt, whatever the job's fault:
    # five survive a short crash loop and still leave room for a real failure's retries.
    max_attempts: int = Field(5, ge=1, alias="TIERED_REVIEW_MAX_ATTEMPTS")
    commands_per_day: int = Field(3, ge=0, alias="TIERED_REVIEW_COMMANDS_PER_DAY")

    llm_timeout_s: float = Field(120.0, gt=0, alias="TIERED_REVIEW_LLM_TIMEOUT_S")
    llm_max_retries: int = Field(2, ge=0, alias="TIERED_REVIEW_LLM_MAX_RETRIES")
    retry_after_cap_s: float = Field(30.0, ge=0, alias="TIERED_REVIEW_RETRY_AFTER_CAP_S")
    concurrency: int = Field(8, gt=0, alias="TIERED_REVIEW_CONCURRENCY")
    # The web edge: what an unsigned client may hold before it is cut off (app/server/edge.py).
    header_timeout_s: float = Field(10.0, gt=0, alias="TIERED_REVIEW_HEADER_TIMEOUT_S")
    body_timeout_s: float = Field(30.0, gt=0, alias="TIERED_REVIEW_BODY_TIMEOUT_S")
    connections_per_client: int = Field(32, gt=0, alias="TIERED_REVIEW_CONNECTIONS_PER_CLIENT")
    # Operator-only model definitions and prices over the packaged catalog (a YAML `models:` map).
    models_file: str | None = Field(None, alias="TIERED_REVIEW_MODELS_FILE")
    # Whole files kept by blob SHA in the database, all tenants together; 0 keeps none.
    blob_cache_mb: int = Field(256, ge=0, alias="TIERED_REVIEW_BLOB_CACHE_MB")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values `from_env` hands over: a test's dict is then the whole environment."""
        return (init_settings,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build from `environ` (default: the process environment), ignoring unknown names."""
        return from_environment(cls, os.environ if environ is None else environ)


_M = TypeVar("_M", bound=BaseModel)


def from_environment(model: type[_M], environ: Mapping[str, str], what: str = "") -> _M:
    """`model` from the variables named by its fields' aliases; an empty value counts as unset.

    Actions passes a secret a fork cannot see as "". A bad value is named by its variable and
    the rule it breaks, never shown: it may be a key.
    """
    names = {field.alias for field in model.model_fields.values() if field.alias}
    values = {name: environ[name] for name in sorted(names) if environ.get(name, "").strip()}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"bad {what or 'environment variable'}: {problems}") from None
