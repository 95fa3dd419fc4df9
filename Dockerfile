# Shelfcast: one image for the web app and, with another command, the Dask scheduler, the Dask
# workers and the retrain job (compose.yaml, deploy/k8s/). Build and run: README "Deployment".
FROM python:3.11-slim-trixie

# Training parallelises over series (processes, Dask workers), so every process keeps one
# OpenMP/BLAS thread, as the Makefile does: two threads on a busy 2-core box ran 15x slower.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    MKL_NUM_THREADS=1

WORKDIR /app

# The dependencies get their own layer, rebuilt only when pyproject.toml changes: a placeholder
# package lets pip resolve the project's own dependency list before the code is copied.
# dumb-init is PID 1: it passes `docker stop`'s SIGTERM to the whole process group (the
# `shelfcast serve` wrapper and its Streamlit child); a bare Python PID 1 would ignore it.
COPY pyproject.toml ./
RUN mkdir core && touch core/__init__.py README.md \
    && pip install --no-cache-dir . dumb-init==1.2.5.post1 \
    && pip uninstall --yes shelfcast \
    && rm -rf core README.md build shelfcast.egg-info

# Editable on purpose: `shelfcast serve` runs app/main.py with pages/ and .streamlit/ found beside
# core/ (core.config.REPO_ROOT); a copy of core/ in site-packages would have none of them.
COPY . .
RUN pip install --no-cache-dir --no-deps --editable . \
    && python -m compileall -q core app pages \
    && groupadd --gid 10001 shelfcast \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/shelfcast shelfcast \
    && mkdir /data \
    && chown shelfcast:shelfcast /data

# The store and its model files (<store>_artifacts/ beside it) live on the volume. numba
# (statsforecast's models) and matplotlib (imported by Prophet) cache under a writable home, not
# in the root-owned site-packages.
ENV SHELFCAST_DB=/data/shelfcast.duckdb \
    HOME=/home/shelfcast \
    NUMBA_CACHE_DIR=/home/shelfcast/.cache/numba \
    MPLCONFIGDIR=/home/shelfcast/.cache/matplotlib
VOLUME ["/data"]

# Numeric, so that Kubernetes' runAsNonRoot can check it without a passwd lookup.
USER 10001:10001
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]

ENTRYPOINT ["dumb-init", "--"]
# --no-demo: a production store starts empty (load data on the Data page or with
# `shelfcast ingest`); drop it to try the app with the bundled demo.
CMD ["shelfcast", "serve", "--address", "0.0.0.0", "--no-demo"]
