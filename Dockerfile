# The engram-ci Docker action. No WORKDIR: the runner mounts the workspace and sets -w itself.
FROM python:3.12-slim

# git: the repo modes drive it (GitPython). The official slim image has none, so install it
# only when missing — no apt lists left behind either way.
RUN if ! command -v git >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends git ca-certificates \
      && apt-get clean \
      && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin; \
    fi

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Pinned dependencies first (their own layer: rebuilt only when the pins change), without
# resolution so nothing floats; then the package itself, also --no-deps.
COPY requirements-action.txt /tmp/engram-ci/
RUN pip install --no-cache-dir --no-deps -r /tmp/engram-ci/requirements-action.txt

# README.m[d]: copied when present (pyproject names it), no error when it is not
COPY pyproject.toml README.m[d] /tmp/engram-ci/
COPY engram_ci /tmp/engram-ci/engram_ci
RUN pip install --no-cache-dir --no-deps /tmp/engram-ci && rm -rf /tmp/engram-ci

COPY entrypoint /entrypoint
# dumb-init as PID 1: forwards signals and reaps the git processes GitPython leaves behind.
ENTRYPOINT ["dumb-init", "--", "/entrypoint"]
