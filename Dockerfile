# The tiered-review GitHub App. Build: `docker build -t tiered-review .`; run: see the README's
# "Run it as a GitHub App". `bash .ci/container-check` checks the same steps without an engine.

# Stage 1: the hashed pins into a venv, then our wheel, then tiktoken's BPE files.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, so this layer survives code changes. Every file is checked against its hash.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY prompts ./prompts
# --no-deps: the lock above installed every dependency, at its pinned version.
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /tmp/dist . \
    && /opt/venv/bin/pip install --no-deps --no-index /tmp/dist/tiered_review-*.whl \
    && /opt/venv/bin/pip check
# Fetched now, so the running App never downloads them (app/plan/tokens.py uses o200k_base).
RUN TIKTOKEN_CACHE_DIR=/opt/tiktoken /opt/venv/bin/python -c "import tiktoken; tiktoken.get_encoding('o200k_base')"

# Stage 2: the venv and the BPE files, run by a user that owns nothing but /data.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TIERED_REVIEW_DB=/data/tiered-review.db
# DL3064 reads "TOKEN" in the name: this is the folder of tiktoken's BPE files, not a secret.
# hadolint ignore=DL3064
ENV TIKTOKEN_CACHE_DIR=/opt/tiktoken
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tiered-review \
    && install -d -o tiered-review -g tiered-review -m 0750 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/tiktoken /opt/tiktoken
WORKDIR /data
USER 10001:10001
# The queue and ledger (SQLite): keep them across restarts and upgrades.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
CMD ["tiered-review", "serve", "--host", "0.0.0.0", "--port", "8000"]
