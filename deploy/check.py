"""Offline checks of the deployment files, for CI machines without Docker or a cluster.

Linters catch what they know (hadolint: Dockerfile practice; yamllint: YAML; the Kubernetes and
Compose JSON schemas: misspelt or misplaced fields, wrong apiVersions). What no schema knows is
this project's own promises, checked here too: one app replica on a volume (DuckDB has one
writer), probes on Streamlit's health URL, resources, non-root pods, no secret value in the repo,
the retrain job on the app's volume, the Dask scheduler address the app is given.

Every check returns a list of problems (empty = fine), so one run names all of them.
Run: `python -m deploy.check` (exit 1 on any problem).
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"
K8S = ROOT / "deploy" / "k8s"
SECRET_EXAMPLE = ROOT / "deploy" / "secret.example.yaml"
YAMLLINT_CONFIG = ROOT / "deploy" / "yamllint.yaml"

APP_PORT = 8501
HEALTH_PATH = "/_stcore/health"
STORE_DIR = "/data"
STORE = f"{STORE_DIR}/shelfcast.duckdb"
# The oldest Kubernetes the manifests promise to work on (CronJob.timeZone is GA from 1.27), and
# the newest the installed schemas know.
K8S_VERSIONS = ("1.29.0", "latest")
THREAD_CAPS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# What the image needs from the build context, and what must never reach it.
CONTEXT_NEEDED = ("pyproject.toml", "README.md", "core/__init__.py", "core/cli/serve.py",
                  "app/main.py", "pages/data.py", ".streamlit/config.toml")
CONTEXT_FORBIDDEN = (".streamlit/secrets.toml", ".env", "app/.env", "data/shelfcast.duckdb",
                     "store.duckdb", "backup/old.duckdb.wal", "data/shelfcast_artifacts/v1/m.json",
                     ".venv/bin/python", ".git/config")


def tool(name: str) -> str:
    """A dev dependency's executable: beside this Python first (the venv), else on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed: pip install -e '.[dev]'")
    return found


def _run(cmd: list[str]) -> list[str]:
    """Problems a linter reports: its output lines when it exits non-zero."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if p.returncode == 0:
        return []
    out = (p.stdout + p.stderr).strip().splitlines()
    return [f"{Path(cmd[0]).name}: {line}" for line in out] or [f"{cmd[0]} exited {p.returncode}"]


# --- Dockerfile -------------------------------------------------------------------------------

def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        buf = f"{buf} {line}" if buf else line
        if buf.endswith("\\"):
            buf = buf[:-1].rstrip()
            continue
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _exec_form(args: str) -> list[str]:
    """CMD/ENTRYPOINT arguments: the JSON array form, else the shell form run by sh."""
    if args.startswith("["):
        return json.loads(args)
    return ["/bin/sh", "-c", args]


def dockerfile_env(path: Path = DOCKERFILE) -> dict[str, str]:
    """Every ENV the image sets (the `ENV k=v k2=v2` form), later ones winning."""
    env: dict[str, str] = {}
    for word, args in dockerfile_instructions(path):
        if word == "ENV":
            for pair in shlex.split(args):
                key, sep, value = pair.partition("=")
                if sep:
                    env[key] = value
    return env


def container_command(path: Path = DOCKERFILE) -> list[str]:
    """What the container runs: ENTRYPOINT followed by CMD (the last of each)."""
    entry: list[str] = []
    cmd: list[str] = []
    for word, args in dockerfile_instructions(path):
        if word == "ENTRYPOINT":
            entry = _exec_form(args)
        elif word == "CMD":
            cmd = _exec_form(args)
    return entry + cmd


def healthcheck_command(path: Path = DOCKERFILE) -> list[str]:
    """The HEALTHCHECK's command (after its options), as Docker runs it."""
    checks = [a for w, a in dockerfile_instructions(path) if w == "HEALTHCHECK"]
    if not checks or " CMD " not in f" {checks[-1]}":
        return []
    return _exec_form(f" {checks[-1]}".split(" CMD ", 1)[1].strip())


def dockerfile_problems(path: Path = DOCKERFILE) -> list[str]:
    """hadolint, then the promises: slim 3.11 base, `pip install .` of the project, non-root
    user, the store on a volume, the health check, an init, the serve command, caches and thread
    caps."""
    problems = _run([tool("hadolint"), "--no-color", str(path)])
    ins = dockerfile_instructions(path)
    words = [w for w, _ in ins]
    args_of = {w: [a for x, a in ins if x == w] for w in set(words)}
    env = dockerfile_env(path)
    base = (args_of.get("FROM") or [""])[0]
    if not (base.startswith("python:3.11") and "slim" in base):
        problems.append(f"FROM is {base!r}: use a python:3.11-slim image")
    if not any("pip install" in a and (" . " in f"{a} " or " -e ." in a or "--editable ." in a)
               for a in args_of.get("RUN", [])):
        problems.append("no RUN installs the project from its own files (pip install .)")
    users = args_of.get("USER", [])
    if not users:
        problems.append("no USER: the container would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        problems.append(f"USER {users[-1]} is root")
    elif "USER" in words and words.index("USER") < max(
            i for i, w in enumerate(words) if w in ("RUN", "COPY", "ADD", "FROM")):
        problems.append("USER must come after the last RUN/COPY (the image's files stay root-owned)")
    if env.get("SHELFCAST_DB") != STORE:
        problems.append(f"ENV SHELFCAST_DB is {env.get('SHELFCAST_DB')!r}, not {STORE}")
    if not any(STORE_DIR in _volumes(a) for a in args_of.get("VOLUME", [])):
        problems.append(f"no VOLUME {STORE_DIR} for the store")
    if f"localhost:{APP_PORT}{HEALTH_PATH}" not in " ".join(healthcheck_command(path)):
        problems.append(f"HEALTHCHECK must request http://localhost:{APP_PORT}{HEALTH_PATH}")
    cmd = container_command(path)
    if not cmd or Path(cmd[0]).name not in ("dumb-init", "tini"):
        problems.append("ENTRYPOINT must be an init (dumb-init) that passes SIGTERM to the whole "
                        "process group: `shelfcast serve` runs Streamlit as a child")
    if "serve" not in cmd or cmd[cmd.index("serve") - 1] != "shelfcast":
        problems.append(f"the container does not run `shelfcast serve`: {cmd}")
    elif "--address" not in cmd or cmd[cmd.index("--address") + 1] != "0.0.0.0":
        problems.append("`shelfcast serve` must listen on --address 0.0.0.0 in a container")
    if not env.get("NUMBA_CACHE_DIR"):
        problems.append("NUMBA_CACHE_DIR unset: numba would try to cache in root-owned site-packages")
    for cap in THREAD_CAPS:
        if env.get(cap) != "1":
            problems.append(f"ENV {cap}=1 missing (training parallelises over series)")
    if str(APP_PORT) not in " ".join(args_of.get("EXPOSE", [])):
        problems.append(f"EXPOSE {APP_PORT} missing")
    return problems


def _volumes(args: str) -> list[str]:
    return _exec_form(args) if args.startswith("[") else args.split()


def dockerignored(path: Path = DOCKERIGNORE) -> Callable[[str], bool]:
    """Whether Docker leaves a context path out. Docker anchors a pattern at the context's top
    (`*.duckdb` is the top folder's only; `**/*.duckdb` is any folder's); gitignore's rules do
    the same once every pattern is anchored with a leading slash."""
    import pathspec

    lines = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        neg, pat = ("!", line[1:]) if line.startswith("!") else ("", line)
        pat = pat.lstrip("/")
        lines.append(f"{neg}{pat}" if pat.startswith("**/") else f"{neg}/{pat}")
    return pathspec.PathSpec.from_lines("gitwildmatch", lines).match_file


def dockerignore_problems(path: Path = DOCKERIGNORE) -> list[str]:
    if not path.exists():
        return [".dockerignore is missing: the build context would carry stores and secrets"]
    ignored = dockerignored(path)
    return ([f".dockerignore leaves out {p}, which the image needs" for p in CONTEXT_NEEDED
             if ignored(p)]
            + [f".dockerignore lets {p} into the build context" for p in CONTEXT_FORBIDDEN
               if not ignored(p)])


# --- YAML: yamllint and compose ---------------------------------------------------------------

def yamllint_problems(paths: list[Path]) -> list[str]:
    return _run([tool("yamllint"), "-f", "parsable", "-c", str(YAMLLINT_CONFIG), *map(str, paths)])


def _env_dict(env: Any) -> dict[str, str]:
    if isinstance(env, list):
        return dict(str(e).partition("=")[::2] for e in env)
    return {k: str(v) for k, v in (env or {}).items()}


def compose_problems(path: Path = COMPOSE) -> list[str]:
    """The Compose spec's schema, then: the app with the store volume and the scheduler's address,
    a scheduler and workers from the same image, one app replica."""
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        return [f"{path.name}: not YAML: {e}"]
    problems = [f"{path.name}: Compose spec: {'.'.join(map(str, e.path))}: {e.message}"
                for e in _compose_validator().iter_errors(doc)]
    services = doc.get("services") or {}
    for name in ("app", "scheduler", "worker"):
        if name not in services:
            problems.append(f"compose: no service {name!r}")
    if problems:
        return problems
    app, sched, worker = services["app"], services["scheduler"], services["worker"]
    env = _env_dict(app.get("environment"))
    if env.get("SHELFCAST_DASK_SCHEDULER") != "tcp://scheduler:8786":
        problems.append("compose: app needs SHELFCAST_DASK_SCHEDULER=tcp://scheduler:8786")
    if env.get("SHELFCAST_DB", STORE) != STORE:
        problems.append(f"compose: app's SHELFCAST_DB must be {STORE}")
    mounts = [str(v).split(":")[1] if ":" in str(v) else v.get("target")
              for v in app.get("volumes") or []]
    if STORE_DIR not in mounts:
        problems.append(f"compose: app mounts no volume at {STORE_DIR}")
    if (app.get("deploy") or {}).get("replicas", 1) != 1:
        problems.append("compose: the app must have one replica (DuckDB has one writer)")
    images = {s.get("image") for s in (app, sched, worker)}
    if len(images) != 1 or None in images:
        problems.append(f"compose: app, scheduler and worker must share one image, not {images}")
    if "scheduler" not in " ".join(map(str, sched.get("command") or [])):
        problems.append("compose: the scheduler service does not run `dask scheduler`")
    if "tcp://scheduler:8786" not in " ".join(map(str, worker.get("command") or [])):
        problems.append("compose: the workers do not join tcp://scheduler:8786")
    return problems


@functools.cache
def _compose_validator():
    """The Compose specification's JSON schema as check-jsonschema ships it (offline), in process:
    a subprocess per check would cost a second of start-up."""
    from importlib.resources import files

    import jsonschema

    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    schema = json.loads(text)
    return jsonschema.validators.validator_for(schema)(schema)


# --- Kubernetes -------------------------------------------------------------------------------

def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def schema_problems(doc: dict, where: str) -> list[str]:
    """The resource against Kubernetes' own schema (strict: unknown fields are errors), for the
    oldest and newest supported versions; a kind/apiVersion with no schema is an error too."""
    return [f"{where}: {p}" for p in _schema_problems(json.dumps(doc, sort_keys=True))]


@functools.lru_cache(maxsize=256)
def _schema_problems(doc_json: str) -> tuple[str, ...]:
    """Cached by content: each validation loads megabytes of schema, and the tests validate many
    copies that differ in one resource."""
    import kubernetes_validate as kv

    doc = json.loads(doc_json)
    out = []
    for version in K8S_VERSIONS:
        v = kv.latest_version() if version == "latest" else version
        try:
            kv.validate(doc, v, strict=True)
        except kv.ValidationError as e:
            field = ".".join(map(str, e.path))
            out.append(f"Kubernetes {v} schema: {field}: {e.message}")
        except kv.SchemaNotFoundError as e:
            out.append(e.message)
        except (KeyError, TypeError) as e:
            out.append(f"not a Kubernetes resource ({e})")
            break
    return tuple(out)


def _pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def _containers(doc: dict) -> list[dict]:
    spec = _pod_spec(doc)
    return (spec or {}).get("containers") or []


def _probe_path(probe: dict | None) -> str | None:
    return ((probe or {}).get("httpGet") or {}).get("path")


def _command(c: dict) -> str:
    return " ".join(map(str, (c.get("command") or []) + (c.get("args") or [])))


def _pod_security(doc: dict, where: str) -> list[str]:
    spec = _pod_spec(doc) or {}
    sc = spec.get("securityContext") or {}
    out = []
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
        out.append(f"{where}: pod securityContext needs runAsNonRoot: true and a non-zero runAsUser")
    for c in spec.get("containers") or []:
        csc = c.get("securityContext") or {}
        if csc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: container {c.get('name')} must set allowPrivilegeEscalation: false")
        if csc.get("privileged"):
            out.append(f"{where}: container {c.get('name')} is privileged")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for what in ("cpu", "memory"):
                if what not in (res.get(part) or {}):
                    out.append(f"{where}: container {c.get('name')} has no {part}.{what}")
    return out


def k8s_problems(folder: Path = K8S, secret_example: Path | None = SECRET_EXAMPLE) -> list[str]:
    """Schemas, then the deployment's promises (see the module docstring)."""
    problems: list[str] = []
    docs: list[tuple[str, dict]] = []
    kustomization: dict | None = None
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    for path in files:
        try:
            loaded = load_docs(path)
        except yaml.YAMLError as e:
            problems.append(f"{path.name}: not YAML: {e}")
            continue
        for doc in loaded:
            if not isinstance(doc, dict):
                problems.append(f"{path.name}: a document that is not a mapping")
                continue
            where = f"{path.name} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
            if doc.get("kind") == "Kustomization":
                kustomization = doc
                continue
            problems += schema_problems(doc, where)
            docs.append((where, doc))
    if problems:  # the promises below assume well-formed resources
        return problems

    listed = set((kustomization or {}).get("resources") or [])
    on_disk = {p.name for p in files if p.name != "kustomization.yaml"}
    if kustomization is None:
        problems.append("no kustomization.yaml (kubectl apply -k deploy/k8s)")
    else:
        problems += [f"kustomization.yaml lists {n}, which does not exist" for n in listed - on_disk]
        problems += [f"kustomization.yaml does not list {n}" for n in on_disk - listed]

    by_kind: dict[str, list[tuple[str, dict]]] = {}
    for where, doc in docs:
        by_kind.setdefault(doc["kind"], []).append((where, doc))
        if _pod_spec(doc) is not None:
            problems += _pod_security(doc, where)
        if doc["kind"] == "Secret":
            problems.append(f"{where}: a Secret in the applied manifests would overwrite the "
                            "operator's; reference it (secretKeyRef) and document how to create it")
    problems += _app_problems(by_kind)
    problems += _dask_problems(by_kind)
    problems += _cronjob_problems(by_kind)
    problems += _secret_ref_problems(docs, secret_example)
    return problems


def _app_problems(by_kind: dict) -> list[str]:
    stss = by_kind.get("StatefulSet", [])
    if len(stss) != 1:
        return [f"expected one StatefulSet (the app), found {len(stss)}"]
    where, sts = stss[0]
    spec = sts["spec"]
    out = []
    if spec.get("replicas") != 1:
        out.append(f"{where}: replicas must be 1 (DuckDB has one writer), not {spec.get('replicas')}")
    claims = {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}
    if not claims:
        out.append(f"{where}: no volumeClaimTemplates: the store would not survive a restart")
    app = next((c for c in _containers(sts) if any(
        p.get("containerPort") == APP_PORT for p in c.get("ports") or [])), None)
    if app is None:
        return [*out, f"{where}: no container exposes port {APP_PORT}"]
    if not any(m["mountPath"] == STORE_DIR and m["name"] in claims
               for m in app.get("volumeMounts") or []):
        out.append(f"{where}: the store directory {STORE_DIR} is not on the claimed volume")
    for kind in ("readinessProbe", "livenessProbe"):
        if _probe_path(app.get(kind)) != HEALTH_PATH:
            out.append(f"{where}: {kind} must GET {HEALTH_PATH}")
    if app.get("command"):
        out.append(f"{where}: `command` replaces the image's entrypoint (dumb-init); use args")
    out += _workers_within_limit(app, by_kind, where)
    labels = sts["spec"]["template"]["metadata"].get("labels") or {}
    services = [d for _, d in by_kind.get("Service", [])]
    if spec.get("serviceName") not in {s["metadata"]["name"] for s in services}:
        out.append(f"{where}: serviceName {spec.get('serviceName')!r} names no Service")
    if not any(s["spec"].get("selector") and s["spec"].get("clusterIP") != "None"
               and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
               for s in services):
        out.append(f"{where}: no Service selects the app's pods")
    return out


def _cpu(quantity: Any) -> float:
    q = str(quantity)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _workers_within_limit(container: dict, by_kind: dict, where: str) -> list[str]:
    """In a pod, os.cpu_count() is the node's: SHELFCAST_WORKERS must say the pod's own share."""
    config = {k: v for _, d in by_kind.get("ConfigMap", []) for k, v in (d.get("data") or {}).items()}
    env = {**config, **{e["name"]: e.get("value") for e in container.get("env") or []}}
    limit = ((container.get("resources") or {}).get("limits") or {}).get("cpu")
    workers = env.get("SHELFCAST_WORKERS")
    if not workers or not str(workers).isdigit():
        return [f"{where}: set SHELFCAST_WORKERS (else one fitting process per core of the node)"]
    if limit is not None and int(workers) > max(1, int(_cpu(limit))):
        return [f"{where}: SHELFCAST_WORKERS={workers} is more than the CPU limit {limit}"]
    return []


def _dask_problems(by_kind: dict) -> list[str]:
    deps = {d["metadata"]["name"]: (w, d) for w, d in by_kind.get("Deployment", [])}
    out = []
    sched = [(w, d) for w, d in deps.values() if "dask scheduler" in " ".join(
        _command(c) for c in _containers(d))]
    workers = [(w, d) for w, d in deps.values() if "dask worker" in " ".join(
        _command(c) for c in _containers(d))]
    if len(sched) != 1:
        out.append(f"expected one Dask scheduler Deployment, found {len(sched)}")
    if not workers:
        out.append("no Dask worker Deployment")
    for where, d in sched + workers:
        for c in _containers(d):
            for kind in ("readinessProbe", "livenessProbe"):
                if not c.get(kind):
                    out.append(f"{where}: container {c['name']} has no {kind}")
    svc = {d["metadata"]["name"]: d for _, d in by_kind.get("Service", [])}
    config = {k: v for _, d in by_kind.get("ConfigMap", []) for k, v in (d.get("data") or {}).items()}
    addr = config.get("SHELFCAST_DASK_SCHEDULER", "")
    host, _, port = addr.removeprefix("tcp://").partition(":")
    if host not in svc or not any(str(p["port"]) == port for p in svc[host]["spec"]["ports"]):
        out.append(f"SHELFCAST_DASK_SCHEDULER={addr!r} is not a Service port of the scheduler")
    for where, d in workers:
        if addr and addr not in " ".join(_command(c) for c in _containers(d)):
            out.append(f"{where}: workers do not join {addr}")
    hpas = by_kind.get("HorizontalPodAutoscaler", [])
    worker_names = {d["metadata"]["name"] for _, d in workers}
    for where, h in hpas:
        ref = h["spec"]["scaleTargetRef"]
        if ref["kind"] != "Deployment" or ref["name"] not in worker_names:
            out.append(f"{where}: scales {ref['kind']}/{ref['name']}, not the Dask workers")
        if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
            out.append(f"{where}: minReplicas above maxReplicas")
    if worker_names and not any(h["spec"]["scaleTargetRef"]["name"] in worker_names
                                for _, h in hpas):
        out.append("no HorizontalPodAutoscaler scales the Dask workers")
    for where, d in workers:
        if "replicas" in d["spec"]:
            out.append(f"{where}: leave replicas to the HorizontalPodAutoscaler")
    return out


def _cronjob_problems(by_kind: dict) -> list[str]:
    jobs = [(w, j) for w, j in by_kind.get("CronJob", []) if any(
        "shelfcast retrain --json" in _command(c) for c in _containers(j))]
    if len(jobs) != 1:
        return [f"expected one CronJob running `shelfcast retrain --json`, found {len(jobs)}"]
    where, job = jobs[0]
    out = []
    if job["spec"].get("concurrencyPolicy") != "Forbid":
        out.append(f"{where}: concurrencyPolicy must be Forbid (two retrains would race)")
    stss = by_kind.get("StatefulSet", [])
    if len(stss) == 1:
        sts = stss[0][1]
        want = {f"{t['metadata']['name']}-{sts['metadata']['name']}-0"
                for t in sts["spec"].get("volumeClaimTemplates") or []}
        spec = _pod_spec(job)
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
                  for v in spec.get("volumes") or [] if "persistentVolumeClaim" in v}
        mounted = [m for c in _containers(job) for m in c.get("volumeMounts") or []
                   if m["mountPath"] == STORE_DIR and claims.get(m["name"]) in want]
        if not mounted:
            out.append(f"{where}: does not mount the app's store volume ({', '.join(sorted(want))}) "
                       f"at {STORE_DIR}")
        aff = ((spec.get("affinity") or {}).get("podAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution") or []
        app_labels = sts["spec"]["template"]["metadata"].get("labels") or {}
        if not any(all(app_labels.get(k) == v for k, v in
                       (a.get("labelSelector") or {}).get("matchLabels", {}).items())
                   and a.get("topologyKey") == "kubernetes.io/hostname" for a in aff):
            out.append(f"{where}: needs podAffinity to the app's node (the volume is ReadWriteOnce)")
    for c in _containers(job):
        out += _workers_within_limit(c, by_kind, where)
        if c.get("command"):
            out.append(f"{where}: `command` replaces the image's entrypoint (dumb-init); use args")
    return out


def _secret_refs(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        ref = doc.get("secretKeyRef") or doc.get("secretRef")
        if isinstance(ref, dict) and ref.get("name"):
            yield ref["name"]
        for v in doc.values():
            yield from _secret_refs(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _secret_refs(v)


def _secret_ref_problems(docs: list[tuple[str, dict]], example: Path | None) -> list[str]:
    """Every referenced Secret is documented in the example, and the example holds no value."""
    names = {n for _, d in docs for n in _secret_refs(d)}
    if not names:
        return ["no container reads the webhook key from a Secret"]
    if example is None:
        return []
    if not example.exists():
        return [f"{example.name} is missing: it documents the Secret the operator creates"]
    out = []
    examples = load_docs(example)
    for doc in examples:
        out += schema_problems(doc, example.name)
        for key, value in {**(doc.get("stringData") or {}), **(doc.get("data") or {})}.items():
            if value:
                out.append(f"{example.name}: {key} has a value; the repo holds placeholders only")
    documented = {d["metadata"]["name"] for d in examples if d.get("kind") == "Secret"}
    out += [f"Secret {n!r} is referenced but not in {example.name}" for n in names - documented]
    return out


def all_problems() -> list[str]:
    yamls = [COMPOSE, SECRET_EXAMPLE, *sorted(K8S.glob("*.yaml"))]
    return (dockerfile_problems() + dockerignore_problems() + yamllint_problems(yamls)
            + compose_problems() + k8s_problems())


def main() -> int:
    problems = all_problems()
    for p in problems:
        print(p)
    print("deployment files: " + (f"{len(problems)} problem(s)" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
