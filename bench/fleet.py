"""The chain's fleet end to end: generate it, then drive the product through the `shelfcast` CLI the
way an operator would and print one table of time, CPU, throughput and peak memory per step.

    .venv/bin/python bench/fleet.py [--series 100000] [--days 730] [--quick] [--keep DIR]
                                    [--dask tcp://host:8786 | --local-cluster N] [--json OUT]

Steps (each a child process, so its peak RSS is its own: psutil polls the child's process tree
every 50 ms; CPU is `getrusage(RUSAGE_CHILDREN)` across the step, plus the CPU of any long-lived
worker processes this run started, e.g. a LocalCluster):
  generate           the fleet (bench/fleet_data.py) as one CSV; not a product step
  cli --help         `shelfcast --help`: what every cron job pays before doing anything
  read_csv           DuckDB's own `read_csv` of the same CSV into a table on disk (baseline)
  ingest             `shelfcast ingest` of that CSV into a new store; ratio = ingest / read_csv
  train naive        seasonal naive, 3-fold backtest, `--json`
  train global       the global model (`--model sklearn`), 3-fold backtest
  train best-of      `--model best` over naive + global + a statistical model (the first of
                     `--stat-model`, default croston,ets, that `train --model` offers: Croston
                     SBA, the most accurate of the statistical models per CPU-second on this
                     fleet, bench/stat_fleet_accuracy.py; ETS costs ~40x its CPU)
  promote            the best-of version put into service
  ingest new week    7 more days of actuals (monitoring refreshes on this write path)
  monitor            `shelfcast monitor --json`
  render <page>      every page in Streamlit's AppTest as an admin, and Overview via a share link:
                     median of 3 warm runs (one child process renders them all, one row per page)
  store size         the store file, its WAL and the model files beside it
The machine's load average is printed before and after; `--json OUT` writes the rows. The exit
status is 1 if any step failed (the table says which and why).

`--quick` is for the smoke test: horizon 7, 10 boosting rounds, one warm render instead of 3. `--dask ADDR` sets
SHELFCAST_DASK_SCHEDULER for every step; `--local-cluster N` starts a dask.distributed
LocalCluster with N worker processes for the run and points the steps at it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
SHELFCAST = str(Path(PY).parent / "shelfcast")
ADMIN = "fleet-admin"
PASSWORD = "fleet-bench-password-1"  # a throw-away store made by this run
FULL_ROWS = 100_000 * 730


@dataclass
class Step:
    step: str
    seconds: float = 0.0
    cpu: float = 0.0
    rss_mib: float = 0.0
    ok: bool = True
    baseline: str = ""
    ratio: float | None = None
    per_cpu_s: float | None = None  # series per CPU-second (training)
    note: str = ""
    linear_100k: float | None = field(default=None)  # seconds, scaled by rows to 100k x 730


class Meter:
    """Peak RSS of a child's process tree and the CPU it used (reaped children via getrusage,
    plus the listed long-lived helpers' CPU, which getrusage sees only when they exit)."""

    def __init__(self, helpers: list[psutil.Process]) -> None:
        self.helpers = helpers

    def _helper_cpu(self) -> float:
        total = 0.0
        for p in self.helpers:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.Error:
                pass
        return total

    def run(self, argv: list[str], env: dict, stdin: str | None = None) -> tuple[subprocess.CompletedProcess, float, float, float]:
        """(result, wall seconds, CPU seconds, peak RSS bytes)."""
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        h0 = self._helper_cpu()
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                try:
                    p = psutil.Process(proc.pid)
                    rss = sum(x.memory_info().rss for x in [p, *p.children(recursive=True)])
                    peak[0] = max(peak[0], rss)
                except psutil.Error:
                    pass
                done.wait(0.05)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        out, err = proc.communicate(stdin)
        wall = time.perf_counter() - t0
        done.set()
        th.join()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime) + self._helper_cpu() - h0
        # ru_maxrss of the children is a run-wide maximum; it catches a peak the poll missed only
        # while it is this step's (the first step, or a step bigger than all before it)
        peak_b = max(peak[0], r1.ru_maxrss * 1024 if r1.ru_maxrss > r0.ru_maxrss else 0)
        return subprocess.CompletedProcess(argv, proc.returncode, out, err), wall, cpu, peak_b


def parsed(s: Step, out: str):
    """The step's JSON output, or None with the step marked failed (a changed CLI output is a
    finding, not a crash of the bench)."""
    try:
        return json.loads(out)
    except ValueError:
        s.ok, s.note = False, f"output is not JSON: {out[-200:]!r}"
        return None


class Run:
    def __init__(self, args: argparse.Namespace, work: Path, helpers: list[psutil.Process], env: dict) -> None:
        self.args = args
        self.work = work
        self.db = work / "fleet.duckdb"
        self.meter = Meter(helpers)
        self.env = env
        self.rows: list[Step] = []
        self.series = 0
        self.data_rows = 0

    def extrapolate(self, seconds: float) -> float | None:
        """This step at 100k series x 730 days if its work grew linearly with rows beyond the CLI's
        fixed start-up; shown only from 100,000 rows up, below that start-up dominates."""
        if self.data_rows < 100_000:
            return None
        fixed = next((r.seconds for r in self.rows if r.step == "cli --help" and r.ok), 0.0)
        return fixed + max(0.0, seconds - fixed) * FULL_ROWS / self.data_rows

    def cli(self, *words: str) -> list[str]:
        return [SHELFCAST, "--db", str(self.db), "--user", ADMIN, *words]

    def step(self, name: str, argv: list[str], stdin: str | None = None, scale: bool = False) -> tuple[Step, str]:
        res, wall, cpu, rss = self.meter.run(argv, self.env, stdin)
        s = Step(name, wall, cpu, rss / 2**20, res.returncode == 0)
        if not s.ok:
            tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
            s.note = f"exit {res.returncode}: " + " | ".join(tail)[:300]
        if scale:
            s.linear_100k = self.extrapolate(wall)
        self.rows.append(s)
        print(f"  {name:<22} {wall:8.2f} s  {'ok' if s.ok else 'FAILED ' + s.note}", flush=True)
        return s, res.stdout

    def generate(self) -> tuple[Path, Path]:
        a = self.args
        hist, week = self.work / "history.csv", self.work / "new_week.csv"
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); import fleet_data as f; "
                "print(json.dumps([f.write(sys.argv[2], int(sys.argv[4]), int(sys.argv[5])), "
                "f.write(sys.argv[3], int(sys.argv[4]), 7, offset=int(sys.argv[5]))]))")
        s, out = self.step("generate", [PY, "-c", code, str(ROOT / "bench"), str(hist), str(week),
                                        str(a.series), str(a.days)])
        got = parsed(s, out) if s.ok else None
        info = got[0] if got else None
        if info:
            self.series, self.data_rows = info["series"], info["rows"]
            s.note = (f"{info['rows']:,} rows, {info['series']:,} series ({info['skus']:,} SKUs x "
                      f"{info['stores']} stores), {100 * info['zero_share']:.0f}% zeros, "
                      f"{info['bytes'] / 2**20:.0f} MiB CSV")
            s.linear_100k = s.seconds * FULL_ROWS / self.data_rows if self.data_rows >= 100_000 else None
        return hist, week

    def read_csv_baseline(self, csv: Path) -> Step:
        code = ("import sys, time, duckdb; c = duckdb.connect(sys.argv[2]); "
                "c.execute('SET enable_progress_bar = false'); t = time.perf_counter(); "
                "c.execute(\"CREATE TABLE t AS SELECT * FROM read_csv('%s')\" % sys.argv[1].replace(\"'\", \"''\")); c.close(); "
                "print(time.perf_counter() - t)")
        s, out = self.step("read_csv (DuckDB)", [PY, "-c", code, str(csv), str(self.work / "baseline.duckdb")],
                           scale=True)
        try:
            inner = float(out.split()[-1])
        except (ValueError, IndexError):
            s.ok, s.note = False, f"no time printed: {out[-200:]!r}"
        if s.ok:
            s.note = f"process {s.seconds:.2f} s; read_csv itself {inner:.2f} s (the baseline)"
            s.seconds = inner
            s.linear_100k = s.seconds * FULL_ROWS / self.data_rows if self.data_rows >= 100_000 else None
        (self.work / "baseline.duckdb").unlink(missing_ok=True)
        return s

    def train(self, name: str, model: str, options: list[str]) -> int | None:
        a = self.args
        argv = self.cli("train", "--model", model, "--folds", "3", "--json")
        if a.quick:
            argv += ["--horizon", "7"]
            if model == "sklearn" or any(o.startswith("models=") and "sklearn" in o for o in options):
                options = [*options, "max_iter=10"]  # a cheap global model: the smoke test checks plumbing
        for o in options:
            argv += ["--option", o]
        s, out = self.step(name, argv, scale=True)
        if not s.ok:
            return None
        v = parsed(s, out)
        if v is None:
            return None
        s.per_cpu_s = self.series / s.cpu if s.cpu else None
        acc = (v.get("metrics") or {}).get("accuracy")
        s.note = f"version {v['id']}" + (f", backtest accuracy {100 * acc:.1f}%" if acc is not None else "")
        return int(v["id"])

    def stat_model(self) -> str | None:
        """A statistical model for the best-of, if this build's CLI offers one (`croston`)."""
        s, out = self.step("cli train --help", [SHELFCAST, "train", "--help"])
        # "--model MODEL  one of naive, sklearn, ets, ... (see the list above)", wrapped; it once
        # looked for argparse's "{a,b}" choices, which the help does not print: no best-of had one
        m = re.search(r"--model MODEL one of ([\w, ]+?) \(", " ".join((out or "").split()))
        offered = {w.strip() for w in m.group(1).split(",")} if m else set()
        wanted = [m.strip() for m in self.args.stat_model.split(",") if m.strip()]
        pick = next((m for m in wanted if m in offered), None)
        s.note = f"--model offers {','.join(sorted(offered))}" + ("" if pick else f"; none of {','.join(wanted)}")
        return pick

    def share_token(self) -> str | None:
        s, out = self.step("share create", self.cli("share", "create", "--label", "fleet bench", "--json"))
        if not s.ok:
            return None
        made = parsed(s, out)
        return parse_qs(urlparse(made["url"]).query)["share"][0] if made else None

    def render(self, token: str | None) -> None:
        argv = [PY, str(Path(__file__).resolve()), "--render-child", str(self.db),
                "--repeat", "1" if self.args.quick else "3", f"--token={token or ''}"]  # (a token may start with '-')
        s, out = self.step("render (all pages)", argv)
        s.note = (s.note + " | " if s.note else "") + "one process; rows below are per page"
        for line in (out or "").splitlines():
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            self.rows.append(Step(f"render {r['page']}", r["median"], 0.0, 0.0, not r["errors"],
                                  note=f"first {r['first']:.2f} s" + (f"; ERRORS {r['errors']}" if r["errors"] else "")))
            print(f"  {'render ' + r['page']:<22} {r['median']:8.2f} s", flush=True)

    def store_size(self) -> None:
        from core import config

        files = [p for p in self.db.parent.glob(self.db.name + "*") if p.is_file()]
        art = config.artifact_dir(self.db)
        files += [p for p in art.rglob("*") if p.is_file()] if art.exists() else []
        size = sum(p.stat().st_size for p in files)
        self.rows.append(Step("store size", 0.0, ok=size > 0, rss_mib=0.0,
                              note=f"{size / 2**20:.1f} MiB on disk ({size / 2**30:.3f} GiB) in {len(files)} files",
                              linear_100k=None))
        self.store_bytes = size
        print(f"  store size             {size / 2**20:8.1f} MiB", flush=True)

    def all(self) -> None:
        hist, week = self.generate()
        if not self.rows[-1].ok:
            return
        self.step("cli --help", [SHELFCAST, "--help"])
        base = self.read_csv_baseline(hist)
        self.step("user add (admin)", self.cli("user", "add", ADMIN, "--role", "admin"), stdin=PASSWORD + "\n")
        ing, _ = self.step("ingest", self.cli("ingest", str(hist), "--json"), scale=True)
        if base.ok and ing.ok and base.seconds:
            ing.baseline, ing.ratio = "read_csv", ing.seconds / base.seconds
        skip = self.args.skip
        naive = self.train("train naive", "naive", [])
        glob = None if "global" in skip else self.train("train global", "sklearn", [])
        vid = None
        if "best" not in skip:
            stat = self.stat_model()
            models = self.args.best_models or ",".join(["naive", "sklearn", *([stat] if stat else [])])
            vid = self.train("train best-of", "best", [f"models={models}"])
            self.rows[-1].note += f" (models={models})"
        serve = vid or glob or naive  # a failed best-of is in the table; promote what did train
        s, _ = self.step("promote", self.cli("promote", str(serve or 0), "--note", "fleet bench", "--json"))
        s.note = f"version {serve}" + ("" if serve == vid or "best" in skip else " (the best-of failed)") + (f"; {s.note}" if s.note else "")
        self.step("ingest new week", self.cli("ingest", str(week), "--json"), scale=True)
        s, out = self.step("monitor", self.cli("monitor", "--json"), scale=True)
        rep = parsed(s, out) if s.ok else None
        if rep:
            summ = rep.get("summary") or {}
            s.note = f"{summ.get('skus', '?')} SKUs, {summ.get('open_alerts', '?')} open alerts"
        orders = self.work / "orders.parquet"
        s, _ = self.step("orders (proposal)", self.cli("orders", "--all", "--out", str(orders)), scale=True)
        s.note = "issue 15 target <= 60 s at 100,000 series"
        self.step("simulate", self.cli("simulate", "--json"), scale=True)
        token = self.share_token()
        self.render(token)
        self.store_size()


# --- the render child: every page in AppTest as an admin, and Overview through a share link ----

def render_child(db: str, repeat: int, token: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["SHELFCAST_DB"] = db
    from streamlit.testing.v1 import AppTest

    from app.nav import LINK_PAGES, PAGES
    from core import users

    admin = users.current(ADMIN, db)
    main = str(ROOT / "app" / "main.py")

    def timed(at: AppTest) -> dict:
        t = time.perf_counter()
        at.run()
        first = time.perf_counter() - t
        runs = []
        for _ in range(repeat):
            t = time.perf_counter()
            at.run()
            runs.append(time.perf_counter() - t)
        return {"first": first, "median": statistics.median(runs), "errors": [str(e.value)[:200] for e in at.exception]}

    start = True
    for f, title, _perm in PAGES:
        at = AppTest.from_file(main, default_timeout=600)
        at.session_state["actor"] = admin  # what a successful sign-in leaves in the session
        t = time.perf_counter()
        at.run()
        if start:  # the landing page in a fresh process, nothing cached: a server's first view
            start = False
            print(json.dumps({"page": "landing page, fresh process (admin)", "first": time.perf_counter() - t,
                              "median": time.perf_counter() - t, "errors": [str(e.value)[:200] for e in at.exception]}),
                  flush=True)
        at.switch_page(str(ROOT / "pages" / f))
        print(json.dumps({"page": f"{title} (admin)", **timed(at)}), flush=True)
    if token:
        for f in LINK_PAGES:
            at = AppTest.from_file(main, default_timeout=600)
            at.query_params["share"] = token
            r = timed(at)
            title = next(t for p, t, _ in PAGES if p == f)
            print(json.dumps({"page": f"{title} (share link)", **r}), flush=True)


# --- table -----------------------------------------------------------------------------------

def table(rows: list[Step], series: int, data_rows: int) -> str:
    head = (f"{'step':<30}{'seconds':>9}{'CPU s':>8}{'series/CPU-s':>13}{'ratio':>7}{'peak RSS':>10}"
            f"{'~100k x 730':>12}  note")
    out = [head, "-" * len(head)]
    for r in rows:
        out.append(
            f"{r.step:<30}{r.seconds:>9.2f}{(f'{r.cpu:.1f}' if r.cpu else ''):>8}"
            f"{(f'{r.per_cpu_s:.0f}' if r.per_cpu_s else ''):>13}"
            f"{(f'{r.ratio:.1f}x' if r.ratio else ''):>7}"
            f"{(f'{r.rss_mib:.0f} MiB' if r.rss_mib else ''):>10}"
            f"{(f'{r.linear_100k:.0f} s' if r.linear_100k else ''):>12}"
            f"  {'' if r.ok else 'FAILED '}{r.note}")
    out.append(f"({series:,} series, {data_rows:,} rows; ~100k x 730 = this step's seconds scaled linearly "
               f"by rows to 73M, a naive estimate)")
    return "\n".join(out)


def start_cluster(n: int):
    from dask.distributed import LocalCluster

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    return cluster


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--quick", action="store_true", help="horizon 7, a small global model, one warm render (smoke test)")
    ap.add_argument("--stat-model", default="croston,ets",
                    help="statistical model for the best-of: the first of these the CLI offers")
    ap.add_argument("--best-models", help="models= for the best-of instead, e.g. naive,sklearn,prophet "
                                          "(Prophet is what runs on --dask / --local-cluster today)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep the files (default: a temp dir, removed)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    ap.add_argument("--dask", help="Dask scheduler address (sets SHELFCAST_DASK_SCHEDULER)")
    ap.add_argument("--local-cluster", type=int, metavar="N", help="start a LocalCluster with N worker processes")
    ap.add_argument("--skip", type=lambda v: {x.strip() for x in v.split(",") if x.strip()}, default=set(),
                    help="leave out training steps: global, best (a long run at full scale can time the "
                         "rest first; the latest version that trained is promoted)")
    ap.add_argument("--render-child", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--token", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.render_child:
        render_child(args.render_child, args.repeat, args.token)
        return 0

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for var in ("SHELFCAST_DB", "SHELFCAST_USER"):
        env.pop(var, None)
    work = args.keep or Path(tempfile.mkdtemp(prefix="shelfcast-fleet-"))
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        print(f"{work} is not empty: another run may be using it; give a new folder", file=sys.stderr)
        return 2
    cluster = None
    helpers: list[psutil.Process] = []
    if args.local_cluster:
        cluster = start_cluster(args.local_cluster)
        args.dask = cluster.scheduler_address
        helpers = psutil.Process().children(recursive=True)
    if args.dask:
        env["SHELFCAST_DASK_SCHEDULER"] = args.dask
    la0 = os.getloadavg()
    print(f"fleet bench: {args.series:,} series x {args.days} days in {work}; load average "
          f"{la0[0]:.1f} {la0[1]:.1f} {la0[2]:.1f} on {os.cpu_count()} cores"
          + (f"; Dask {args.dask} ({args.local_cluster or '?'} workers)" if args.dask else ""), flush=True)
    run = Run(args, work, helpers, env)
    t0 = time.perf_counter()
    try:
        run.all()
    finally:
        if cluster is not None:
            cluster.close()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    la1 = os.getloadavg()
    print()
    print(table(run.rows, run.series, run.data_rows))
    print(f"total {time.perf_counter() - t0:.0f} s; load average before {la0[0]:.1f}, after {la1[0]:.1f} "
          f"(1/5/15 min after: {la1[0]:.1f} {la1[1]:.1f} {la1[2]:.1f}) on {os.cpu_count()} cores")
    failed = [r.step for r in run.rows if not r.ok]
    if args.json:
        args.json.write_text(json.dumps({
            "series": run.series, "rows": run.data_rows, "days": args.days, "load_before": la0[0],
            "load_after": la1[0], "cpus": os.cpu_count(), "dask": args.dask,
            "store_bytes": getattr(run, "store_bytes", None), "failed": failed,
            "steps": [asdict(r) for r in run.rows]}, indent=2))
    if failed:
        print("FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
