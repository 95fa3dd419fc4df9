"""The deployment files, checked without a container engine or a cluster (issue 16 item 4).

The real files must pass every check in deploy/check.py, a deliberately broken copy of each must
fail it (so the checks can fail), and the container's own command line with the environment the
Dockerfile sets must serve Streamlit's health URL from a fresh volume path and stop on one SIGTERM.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from deploy import check
from tests.browser import free_port

ROOT = check.ROOT


def test_the_deployment_files_pass_every_check():
    assert check.all_problems() == []


def _broken_copy(tmp_path: Path, rel: str, old: str, new: str) -> Path:
    """A copy of the deployment files with one edit in `rel` (which must contain `old`)."""
    for name in ("Dockerfile", ".dockerignore", "compose.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    target = tmp_path / rel
    text = target.read_text()
    assert old in text, f"{rel} no longer contains {old!r}: update this test"
    target.write_text(text.replace(old, new, 1))
    return tmp_path


BROKEN_DOCKERFILES = [
    ("USER 10001:10001\n", "", "no USER"),
    ("pip install --no-cache-dir --no-deps", "pip install --no-deps", "DL3042"),  # hadolint
    ("/_stcore/health'", "/healthz'", "HEALTHCHECK must request"),
    ("SHELFCAST_DB=/data/shelfcast.duckdb", "SHELFCAST_DB=/app/shelfcast.duckdb", "SHELFCAST_DB"),
    ('VOLUME ["/data"]', "", "no VOLUME /data"),
    ('"--address", "0.0.0.0", ', "", "--address 0.0.0.0"),
    ("    MKL_NUM_THREADS=1\n", "    OTHER=1\n", "MKL_NUM_THREADS=1 missing"),
    ("NUMBA_CACHE_DIR=", "NUMBA_CACHE=", "NUMBA_CACHE_DIR unset"),
    ("FROM python:3.11-slim-trixie", "FROM python:3.12", "python:3.11-slim"),
    ('ENTRYPOINT ["dumb-init", "--"]\n', "", "ENTRYPOINT must be an init"),
    ("timeout=4)\"]", "timeout=4)\"]\nHEALTHCHECK NONE", "HEALTHCHECK must request"),
]


@pytest.mark.parametrize(("old", "new", "expected"), BROKEN_DOCKERFILES)
def test_a_broken_dockerfile_fails(tmp_path, old, new, expected):
    root = _broken_copy(tmp_path, "Dockerfile", old, new)
    problems = check.dockerfile_problems(root / "Dockerfile")
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(("old", "new", "expected"), [
    (".streamlit/secrets.toml\n", "", "lets .streamlit/secrets.toml into"),
    ("**/*.duckdb.wal\n", "*.duckdb.wal\n", "lets backup/old.duckdb.wal into"),  # top folder only
    ("**/.env\n", "", "lets .env into"),
    ("tests\n", "tests\ncore\n", "leaves out core/__init__.py"),
    ("docs\n", "docs\n.streamlit\n", "leaves out .streamlit/config.toml"),
])
def test_a_broken_dockerignore_fails(tmp_path, old, new, expected):
    root = _broken_copy(tmp_path, ".dockerignore", old, new)
    problems = check.dockerignore_problems(root / ".dockerignore")
    assert any(expected in p for p in problems), problems


def test_dockerignore_patterns_match_as_docker_does(tmp_path):
    f = tmp_path / ".dockerignore"
    f.write_text("# c\n*.duckdb\n**/*.wal\ndata\n!data/keep.csv\n/abs.txt\n")
    ignored = check.dockerignored(f)
    assert ignored("x.duckdb") and not ignored("sub/x.duckdb")
    assert ignored("a.wal") and ignored("a/b/c.wal")
    assert ignored("data/x/y.csv") and not ignored("data/keep.csv")
    assert ignored("abs.txt") and not ignored("sub/abs.txt") and not ignored("core/x.py")


BROKEN_MANIFESTS = [
    # the schema: a misspelt field, an apiVersion that no longer exists, a wrong type
    ("k8s/app.yaml", "  replicas: 1", "  replica: 1", "Additional properties"),
    ("k8s/app.yaml", "apiVersion: apps/v1\nkind: StatefulSet",
     "apiVersion: apps/v1beta1\nkind: StatefulSet", "Couldn't find schema"),
    ("k8s/dask.yaml", "maxReplicas: 20", "maxReplicas: twenty", "maxReplicas"),
    # the promises
    ("k8s/app.yaml", "  replicas: 1", "  replicas: 2", "replicas must be 1"),
    ("k8s/app.yaml", "              path: /_stcore/health\n              port: http\n"
     "            periodSeconds: 10", "              path: /\n              port: http\n"
     "            periodSeconds: 10", "readinessProbe must GET /_stcore/health"),
    ("k8s/app.yaml", "        runAsNonRoot: true\n", "", "runAsNonRoot"),
    ("k8s/app.yaml", "            allowPrivilegeEscalation: false\n", "",
     "allowPrivilegeEscalation"),
    ("k8s/app.yaml", "              memory: 6Gi\n", "", "limits.memory"),
    ("k8s/app.yaml", "            - name: data\n              mountPath: /data\n", "",
     "not on the claimed volume"),
    ("k8s/app.yaml", "          envFrom:", "          command: [shelfcast, serve]\n          envFrom:",
     "replaces the image's entrypoint"),
    ("k8s/retrain-cronjob.yaml", "claimName: data-shelfcast-0", "claimName: data-other-0",
     "does not mount the app's store volume"),
    ("k8s/retrain-cronjob.yaml", "concurrencyPolicy: Forbid", "concurrencyPolicy: Allow",
     "concurrencyPolicy"),
    ("k8s/retrain-cronjob.yaml", "topologyKey: kubernetes.io/hostname",
     "topologyKey: topology.kubernetes.io/zone", "podAffinity"),
    ("k8s/dask.yaml", "    name: shelfcast-dask-worker\n  minReplicas",
     "    name: shelfcast-dask-scheduler\n  minReplicas", "not the Dask workers"),
    ("k8s/config.yaml", "tcp://shelfcast-dask-scheduler:8786", "tcp://dask:8786",
     "SHELFCAST_DASK_SCHEDULER='tcp://dask:8786'"),
    ("k8s/kustomization.yaml", "  - dask.yaml\n", "", "does not list dask.yaml"),
    ("k8s/config.yaml", 'SHELFCAST_WORKERS: "2"', 'SHELFCAST_WORKERS: "8"', "more than the CPU limit"),
    ("k8s/config.yaml", 'SHELFCAST_WORKERS: "2"', 'OTHER: "2"', "set SHELFCAST_WORKERS"),
    ("secret.example.yaml", 'SHELFCAST_WEBHOOK_SECRET: ""', "SHELFCAST_WEBHOOK_SECRET: s3cr3t",
     "has a value"),
    ("k8s/app.yaml", "name: shelfcast-webhook  # created", "name: other-secret  # created",
     "'other-secret' is referenced but not in"),
]


@pytest.mark.parametrize(("rel", "old", "new", "expected"), BROKEN_MANIFESTS)
def test_a_broken_manifest_fails(tmp_path, rel, old, new, expected):
    root = _broken_copy(tmp_path, f"deploy/{rel}", old, new)
    problems = check.k8s_problems(root / "deploy" / "k8s", root / "deploy" / "secret.example.yaml")
    assert any(expected in p for p in problems), problems


def test_a_secret_among_the_applied_manifests_fails(tmp_path):
    root = _broken_copy(tmp_path, "deploy/k8s/kustomization.yaml", "  - config.yaml\n",
                        "  - config.yaml\n  - secret.yaml\n")
    shutil.copy(root / "deploy" / "secret.example.yaml", root / "deploy" / "k8s" / "secret.yaml")
    problems = check.k8s_problems(root / "deploy" / "k8s", root / "deploy" / "secret.example.yaml")
    assert any("would overwrite the operator's" in p for p in problems), problems


def test_broken_yaml_fails_yamllint(tmp_path):
    root = _broken_copy(tmp_path, "deploy/k8s/config.yaml", "  OMP_NUM_THREADS", "   OMP_NUM_THREADS")
    problems = check.yamllint_problems([root / "deploy" / "k8s" / "config.yaml"])
    assert any("config.yaml" in p and "syntax" in p for p in problems), problems


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("    ports:\n", "    portz:\n", "Compose spec"),  # not in the spec
    ("      SHELFCAST_DASK_SCHEDULER: tcp://scheduler:8786\n", "", "SHELFCAST_DASK_SCHEDULER"),
    ("      - shelfcast-data:/data\n", "      - shelfcast-data:/srv\n", "no volume at /data"),
])
def test_a_broken_compose_file_fails(tmp_path, old, new, expected):
    root = _broken_copy(tmp_path, "compose.yaml", old, new)
    problems = check.compose_problems(root / "compose.yaml")
    assert any(expected in p for p in problems), problems


# --- the container's command line -------------------------------------------------------------

IMAGE_PATHS = {"/data": "data", "/home/shelfcast": "home"}


def _as_on_a_fresh_volume(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The image's ENV with its directories (the volume, the home) moved under tmp_path."""
    out = {}
    for key, value in env.items():
        for image_dir, local in IMAGE_PATHS.items():
            if value == image_dir or value.startswith(image_dir + "/"):
                value = str(tmp_path / local) + value[len(image_dir):]
        out[key] = value
    return out


def test_the_container_command_serves_health_and_stops_on_sigterm(tmp_path):
    env = _as_on_a_fresh_volume(check.dockerfile_env(), tmp_path)
    for d in IMAGE_PATHS.values():  # the image makes /data and the home directory
        (tmp_path / d).mkdir()
    store = tmp_path / "data" / "shelfcast.duckdb"
    assert env["SHELFCAST_DB"] == str(store) and not store.exists()
    assert env["HOME"] == str(tmp_path / "home")

    cmd = check.container_command()
    assert cmd[:3] == ["dumb-init", "--", "shelfcast"] and cmd[3] == "serve", cmd
    port = free_port()
    # The exact command, its programs taken from this venv, plus a free port (8501 may be taken).
    argv = [check.tool(cmd[0]), cmd[1], check.tool(cmd[2]), *cmd[3:], "--port", str(port)]
    # Only what a container has: PATH (this venv's bin for the image's /usr/local/bin), the base
    # image's LANG and the Dockerfile's ENV. PYTHONPATH keeps a worktree's code (the image's
    # editable install); the machine's OpenBLAS settings are passed on unchanged.
    keep = ("PYTHONPATH", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {"PATH": f"{Path(check.tool('shelfcast')).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           **{k: os.environ[k] for k in keep if k in os.environ}, **env}
    log_path = tmp_path / "server.log"
    before = _files_under(ROOT)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    procs: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                url = f"http://127.0.0.1:{port}{check.HEALTH_PATH}"
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback
                    assert r.status == 200 and r.read() == b"ok"
                    break
            except OSError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        assert f"(store: {store})" in log_path.read_text()  # serve got the volume's path
        assert store.exists()  # and made the store there (its first look for accounts)
        # Docker's HEALTHCHECK command itself (on this test's port) says healthy
        health = [a.replace(f":{check.APP_PORT}/", f":{port}/") for a in check.healthcheck_command()]
        assert health and subprocess.run(health, env=env, timeout=30).returncode == 0
        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        assert any("streamlit" in " ".join(p.cmdline()) for p in procs)

        # `docker stop` / Kubernetes: one SIGTERM to PID 1 (dumb-init), which passes it on.
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        gone, alive = psutil.wait_procs(procs, timeout=20)
        assert not alive, f"still running after SIGTERM: {[p.cmdline() for p in alive]}"
        assert subprocess.run(health, env=env, capture_output=True,
                              timeout=30).returncode != 0  # and now says unhealthy
        # The pods' root filesystem is read-only: the code's folder (/app) must stay untouched.
        assert _files_under(ROOT) == before
    finally:
        _kill_tree(proc, procs)
    assert "Traceback" not in log_path.read_text()


def _files_under(root: Path) -> dict[str, float]:
    skip = {".git", ".pytest_cache", ".ruff_cache", ".venv"}
    return {str(p): p.stat().st_mtime for p in root.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)}


def _kill_tree(proc: subprocess.Popen, known: list[psutil.Process]) -> None:
    """Whatever a failed test left running: the process, its descendants, and ones seen before."""
    try:
        known = [*known, *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        pass
    for p in known:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.kill()
    proc.wait(timeout=10)


def _wait_healthy(url: str, procs: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback
                if r.status == 200:
                    return
        except OSError:
            pass
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise AssertionError(f"{url} never answered: " + "\n".join(
                f.read_text()[-1500:] for f in logs))
        time.sleep(0.3)


def test_the_dask_commands_of_the_manifests_start_a_cluster(tmp_path):
    """The scheduler's and workers' args from deploy/k8s/dask.yaml, run as the image would (under
    dumb-init), with local ports: a misspelt flag would crash-loop in the cluster."""
    args_of = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["args"]
               for d in check.load_docs(check.K8S / "dask.yaml") if d["kind"] == "Deployment"}
    sched_args, worker_args = args_of["shelfcast-dask-scheduler"], args_of["shelfcast-dask-worker"]
    comm, dash, wdash = free_port(), free_port(), free_port()
    local = {"8786": str(comm), ":8787": f":{dash}", ":8789": f":{wdash}",
             "tcp://shelfcast-dask-scheduler:8786": f"tcp://127.0.0.1:{comm}",
             "/tmp/dask": str(tmp_path / "dask")}
    env = {**os.environ, **_as_on_a_fresh_volume(check.dockerfile_env(), tmp_path)}
    (tmp_path / "home").mkdir()
    init = check.tool("dumb-init")
    procs: list[subprocess.Popen] = []
    logs = [tmp_path / "scheduler.log", tmp_path / "worker.log"]
    try:
        for args, log in ((sched_args, logs[0]), (worker_args, logs[1])):
            argv = [init, "--", check.tool(args[0]), *[local.get(a, a) for a in args[1:]]]
            with open(log, "w") as f:
                procs.append(subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=f,
                                              stderr=subprocess.STDOUT))
            port = dash if args is sched_args else wdash
            _wait_healthy(f"http://127.0.0.1:{port}/health", procs, logs)
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{comm}", timeout="20s") as client:
            workers = client.scheduler_info()["workers"].values()
            assert [w["nthreads"] for w in workers] == [1]  # one single-threaded worker per pod
            assert client.submit(sum, [1, 2, 3]).result(timeout=20) == 6
        for p in reversed(procs):  # one SIGTERM each, as Kubernetes sends
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
    finally:
        for p in procs:
            _kill_tree(p, [])
