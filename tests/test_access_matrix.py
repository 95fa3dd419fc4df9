"""Every mutating core function, called with every role: refused below its permission (with the
store left unchanged), accepted at and above it.

Two layers:
- CASES: one entry per known mutating function with real arguments and a check of its effect.
  Adding a function = one `Case(...)` line (setup runs as admin first; call gets the actor).
- Discovery: every public function in `core` that takes an Actor is found by introspection;
  `test_cases_cover_discovered` names those still missing a CASES line. Until it gets one, a
  new function is called, for each role lacking the permission named in its
  `require(actor, "...")`, with placeholder arguments and must raise PermissionDenied before
  touching anything.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

import core
import core.rollups as rollups
import core.sales_edit
from core import forecasts, ingest, jobs, monitoring, registry, seed, sharing, training, users
from core.access import PERMISSIONS, ROLES, Actor
from core.demo import DemoSpec
from core.errors import PermissionDenied
from core.inventory import demo as inv_demo
from core.inventory import inputs, overrides, proposals
from core.store import session
from core.store.db import raw
from tests.auth import ADMIN, PASSWORD
from tests.helpers import demo_csv
from tests.registry_fixtures import fake_version, load_demo

ADMIN_ACTOR = Actor(ADMIN, "admin")
ACTORS = [Actor(f"as-{r}", r) for r in ROLES] + [Actor("share link 1", "viewer", via_link=True)]


def actor_id(a: Actor) -> str:
    return "link" if a.via_link else a.role


def allowed(a: Actor, permission: str) -> bool:
    if a.via_link:
        return permission == "view"
    return ROLES.index(a.role) >= ROLES.index(PERMISSIONS[permission])


def snapshot(db: Path) -> dict:
    """Row count and content hash of every table: what a refused call must leave as it was."""
    with session(db) as s:
        con = raw(s)
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "ORDER BY 1").fetchall()]
        return {n: con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{n}" AS t').fetchone()
                for n in names}


# --- explicit cases -------------------------------------------------------------------------


@dataclass
class Case:
    func: str  # "module.function" as discovered, e.g. "core.sharing.revoke"
    permission: str
    call: Callable[[Actor, Path, Any], Any]
    setup: Callable[[Path, Path], Any] = field(default=lambda db, tmp: None)
    check: Callable[[Path, Any, Any], None] = field(default=lambda db, ctx, result: None)


def _accounts(db: Path, tmp: Path) -> None:
    users.create_first_admin(ADMIN, PASSWORD, db)
    users.add_user(ADMIN_ACTOR, "other", "viewer", PASSWORD, db)


def _link(db: Path, tmp: Path) -> int:
    _accounts(db, tmp)
    return sharing.create(ADMIN_ACTOR, "board", 30, db).info.id


def _csv(db: Path, tmp: Path) -> Path:
    return demo_csv(tmp / "sales.csv", n_skus=2, n_stores=1, days=40)


def _rows(db: Path) -> int:
    with session(db) as s:
        return raw(s).execute("SELECT count(*) FROM sales").fetchone()[0]


def _seed(a: Actor, db: Path, ctx: Any) -> None:
    # Only seed's own check and loading: the train/promote steps others append to AFTER_HISTORY
    # are covered by their own cases.
    saved = list(seed.AFTER_HISTORY)
    seed.AFTER_HISTORY.clear()
    try:
        seed.seed_demo(a, db, DemoSpec(n_skus=2, n_stores=1, days=60, shift_days=7),
                       say=lambda _m: None)
    finally:
        seed.AFTER_HISTORY[:] = saved


def _versions(n: int, promote: int = 0, archive: bool = False) -> Callable[[Path, Path], list[int]]:
    """Setup: small demo data, `n` ready versions (each better than the last), the first
    `promote` of them promoted in order, optionally the last one archived."""

    def setup(db: Path, tmp: Path) -> list[int]:
        load_demo(db, tmp, ADMIN_ACTOR, n_skus=2, n_stores=1, days=40)
        ids = [fake_version(db, 0.3 - 0.1 * i) for i in range(n)]
        for v in ids[:promote]:
            registry.promote(ADMIN_ACTOR, v, "setup", db=db)
        if archive:
            registry.archive(ADMIN_ACTOR, ids[-1], db)
        return ids

    return setup


def _archived(db: Path, version_id: int) -> bool:
    from core.store import registry as reg

    with session(db) as s:
        return bool(reg.get_version(s, version_id).archived)


def _sales(db: Path, tmp: Path) -> None:
    ingest.ingest(demo_csv(tmp / "sales.csv", n_skus=2, n_stores=1, days=90), ADMIN_ACTOR, db=db)


def _running(db: Path, tmp: Path) -> int:
    _sales(db, tmp)
    return training.start(ADMIN_ACTOR, "naive", horizon=7, folds=1, db=db)


def _status(db: Path, version_id: int) -> str:
    from core.store import versions as vs

    with session(db) as s:
        v = vs.get_version(s, version_id)
        return f"{v.status}{' cancel' if v.cancel_requested else ''}"


def _job(a: Actor, db: Path) -> int:
    vid = jobs.start(a, "naive", horizon=7, folds=1, db=db)
    assert jobs.wait(vid, 120)
    return vid


def _rule(db: Path, tmp: Path) -> int:
    return monitoring.save_rule(ADMIN_ACTOR, db, name="Setup rule", kind="accuracy", threshold=0.88).id


def _monitored(db: Path, tmp: Path) -> None:
    """An active version with actuals after its forecast start: evaluation has work to do."""
    from core.demo import generate, split_recent
    from tests.monitor_helpers import ingest_frame, make_active_version

    spec = DemoSpec(n_skus=3, n_stores=1, days=400)
    hist, recent = split_recent(generate(spec), spec.shift_days)
    make_active_version(db, hist, spec.shift_days, ADMIN_ACTOR, plan=recent)
    ingest_frame(db, recent, ADMIN_ACTOR)
    with session(db, write=True) as s:  # a clean slate: evaluation must open these again
        raw(s).execute("DELETE FROM alert_events; DELETE FROM alerts; DELETE FROM alert_rules")


def _monitored_rules(db: Path, tmp: Path) -> None:
    """Monitored, with the default rules made by an evaluation."""
    _monitored(db, tmp)
    monitoring.evaluate(ADMIN_ACTOR, db, notify=False)


def _alert(db: Path, tmp: Path) -> int:
    from core.store import monitoring as ms

    rule_id = _rule(db, tmp)
    with session(db, write=True) as s:
        return ms.save_alert(s, ms.Alert(rule_id=rule_id, kind="accuracy", sku="BEV-001")).id


def _alert_status(db: Path, alert_id: int) -> str:
    return next(a["status"] for a in monitoring.alerts(db) if a["id"] == alert_id)


def _policy_file(db: Path, tmp: Path) -> Path:
    load_demo(db, tmp, ADMIN_ACTOR, n_skus=2, n_stores=1, days=40)
    f = tmp / "policy.csv"
    f.write_text("sku,lead_time,pack_size\nBEV-001,2,6\n")
    return f


def _inv_count(db: Path, table: str) -> int:
    from core.store import inventory as inv

    with session(db) as s:
        return inv.counts(s)[table]


def _demo(db: Path, tmp: Path) -> None:
    load_demo(db, tmp, ADMIN_ACTOR, n_skus=2, n_stores=1, days=40)


def _an_override(db: Path, tmp: Path) -> int:
    _demo(db, tmp)
    return overrides.set_override(ADMIN_ACTOR, "BEV-001", "2026-11-02", "2026-11-05", "pct", 10,
                                  "event", db=db).id


def _orders_setup(db: Path, tmp: Path) -> Path:
    _versions(1, promote=1)(db, tmp)
    return tmp


CASES: list[Case] = [
    Case("core.ingest.ingest", "upload", setup=_csv,
         call=lambda a, db, f: ingest.ingest(f, a, db=db),
         check=lambda db, ctx, r: _rows(db) == 80 or pytest.fail("rows not loaded")),
    Case("core.sales_edit.delete_sales", "upload", setup=_sales,
         call=lambda a, db, ctx: core.sales_edit.delete_sales(a, None, None, sku="BEV-001", note="bad feed", db=db),
         check=lambda db, ctx, r: (r.sales_rows == 90 and _rows(db) == 90)
         or pytest.fail(str(r))),
    Case("core.seed.seed_demo", "promote", call=_seed,
         check=lambda db, ctx, r: _rows(db) == 120 or pytest.fail("demo not loaded")),
    Case("core.users.add_user", "manage_users", setup=_accounts,
         call=lambda a, db, ctx: users.add_user(a, "newbie", "manager", "long-enough-pw", db),
         check=lambda db, ctx, r: users.authenticate("newbie", "long-enough-pw", db)),
    Case("core.users.list_users", "manage_users", setup=_accounts,
         call=lambda a, db, ctx: users.list_users(a, db),
         check=lambda db, ctx, r: [u.name for u in r] == sorted([ADMIN, "other"]) or pytest.fail(str(r))),
    Case("core.users.set_disabled", "manage_users", setup=_accounts,
         call=lambda a, db, ctx: users.set_disabled(a, "other", True, db),
         check=lambda db, ctx, r: users.current("other", db) is None or pytest.fail("enabled")),
    Case("core.users.set_password", "manage_users", setup=_accounts,
         call=lambda a, db, ctx: users.set_password(a, "other", "brand-new-pw", db),
         check=lambda db, ctx, r: users.authenticate("other", "brand-new-pw", db)),
    Case("core.users.set_role", "manage_users", setup=_accounts,
         call=lambda a, db, ctx: users.set_role(a, "other", "scientist", db),
         check=lambda db, ctx, r: users.current("other", db).role == "scientist"
         or pytest.fail("role unchanged")),
    Case("core.sharing.create", "share", setup=_accounts,
         call=lambda a, db, ctx: sharing.create(a, "exec", "7d", db),
         check=lambda db, ctx, r: sharing.resolve(r.url.split("share=")[1], db) is not None
         or pytest.fail("link does not resolve")),
    Case("core.sharing.list_links", "share", setup=_link,
         call=lambda a, db, ctx: sharing.list_links(a, db),
         check=lambda db, ctx, r: [x.id for x in r] == [ctx] or pytest.fail(str(r))),
    Case("core.sharing.revoke", "share", setup=_link,
         call=lambda a, db, ctx: sharing.revoke(a, ctx, db),
         check=lambda db, ctx, r: r.status == "revoked" or pytest.fail(str(r))),
    # registry
    Case("core.registry.promote", "promote", setup=_versions(1),
         call=lambda a, db, ids: registry.promote(a, ids[0], "go live", db=db),
         check=lambda db, ids, r: registry.active_version(db) == ids[0] or pytest.fail("not active")),
    Case("core.registry.rollback", "rollback", setup=_versions(2, promote=2),
         call=lambda a, db, ids: registry.rollback(a, "back", db),
         check=lambda db, ids, r: registry.active_version(db) == ids[0] or pytest.fail("not back")),
    Case("core.registry.archive", "archive", setup=_versions(2, promote=1),
         call=lambda a, db, ids: registry.archive(a, ids[1], db),
         check=lambda db, ids, r: _archived(db, ids[1]) or pytest.fail("not archived")),
    Case("core.registry.unarchive", "archive", setup=_versions(2, promote=1, archive=True),
         call=lambda a, db, ids: registry.unarchive(a, ids[1], db),
         check=lambda db, ids, r: not _archived(db, ids[1]) or pytest.fail("still archived")),
    Case("core.registry.promote_for_demo", "promote", setup=_versions(1),
         call=lambda a, db, ids: registry.promote_for_demo(a, db, say=lambda _m: None),
         check=lambda db, ids, r: registry.active_version(db) == ids[0] or pytest.fail("not active")),
    # monitoring
    Case("core.monitoring.alerts.acknowledge", "acknowledge_alert", setup=_alert,
         call=lambda a, db, i: monitoring.acknowledge(a, i, "order reduced", db),
         check=lambda db, i, r: _alert_status(db, i) == "acknowledged" or pytest.fail("open")),
    Case("core.monitoring.rules.save_rule", "edit_alert_rules", setup=_rule,
         call=lambda a, db, rid: monitoring.save_rule(a, db, rid, name="Tighter", kind="accuracy",
                                                      threshold=0.9),
         check=lambda db, rid, r: {x.id: x.threshold for x in monitoring.rules(db)}[rid] == pytest.approx(0.9)
         or pytest.fail("threshold unchanged")),
    Case("core.monitoring.alerts.delete_rule", "edit_alert_rules", setup=_rule,
         call=lambda a, db, rid: monitoring.delete_rule(a, rid, db),
         check=lambda db, rid, r: rid not in [x.id for x in monitoring.rules(db)]
         or pytest.fail("still there")),
    Case("core.monitoring.alerts.set_webhook", "edit_alert_rules",
         call=lambda a, db, ctx: monitoring.set_webhook(a, "https://hooks.example.com/x", db)),
    Case("core.monitoring.alerts.set_webhook(allow_private)", "manage_users",
         call=lambda a, db, ctx: monitoring.set_webhook(a, "http://10.1.2.3/x", db, allow_private=True)),
    Case("core.monitoring.alerts.evaluate", "acknowledge_alert", setup=_monitored,
         call=lambda a, db, ctx: monitoring.evaluate(a, db, notify=False),
         check=lambda db, ctx, ev: (monitoring.rules(db) and ev.opened) or pytest.fail("nothing opened")),
    Case("core.monitoring.report.report", "acknowledge_alert", setup=_monitored,
         call=lambda a, db, ctx: monitoring.report(a, db),
         check=lambda db, ctx, rep: rep["alerts"] or pytest.fail("no alerts")),
    Case("core.monitoring.errors.refresh", "acknowledge_alert",
         call=lambda a, db, ctx: monitoring.refresh(a, db)),
    Case("core.monitoring.alerts.evaluate_after_write", "acknowledge_alert", setup=_monitored,
         call=lambda a, db, ctx: monitoring.evaluate_after_write(a, db, "a test"),
         check=lambda db, ctx, msg: (msg is None and monitoring.alerts(db)) or pytest.fail(str(msg))),
    Case("core.monitoring.alerts.after_ingest", "acknowledge_alert", setup=_monitored,
         call=lambda a, db, ctx: monitoring.after_ingest(type("R", (), {})(), a, db),
         check=lambda db, ctx, r: monitoring.alerts(db) or pytest.fail("nothing evaluated")),
    Case("core.rollups.after_ingest", "upload", setup=_monitored,
         call=lambda a, db, ctx: rollups.after_ingest(None, a, db),
         check=lambda db, ctx, r: _rollups_current(db) or pytest.fail("rollup not refreshed")),
    # worklist (f-planner): per SKU x store, on top of the alerts
    Case("core.worklist.assign", "acknowledge_alert", setup=_alert,
         call=lambda a, db, i: importlib.import_module("core.worklist").assign(a, "BEV-001", "all stores", "ana", db),
         check=lambda db, i, r: list(importlib.import_module("core.worklist").states(db)["assignee"]) == ["ana"]
         or pytest.fail("not assigned")),
    Case("core.worklist.snooze", "acknowledge_alert", setup=_alert,
         call=lambda a, db, i: importlib.import_module("core.worklist").snooze(
             a, "BEV-001", "all stores", date.today() + timedelta(days=3), db),
         check=lambda db, i, r: len(importlib.import_module("core.worklist").states(db)) == 1
         or pytest.fail("not snoozed")),
    Case("core.worklist.acknowledge", "acknowledge_alert", setup=_alert,
         call=lambda a, db, i: importlib.import_module("core.worklist").acknowledge(a, "BEV-001", "all stores",
                                                                                    "order cut", db),
         check=lambda db, i, r: _alert_status(db, i) == "acknowledged" or pytest.fail("open")),
    Case("core.monitoring.promised.set_accuracy_rule", "edit_alert_rules", setup=_monitored_rules,
         call=lambda a, db, ctx: importlib.import_module("core.monitoring.promised").set_accuracy_rule(a, True, db),
         check=lambda db, ctx, r: importlib.import_module("core.monitoring.promised").accuracy_rule(db).kind
         == "promised_accuracy" or pytest.fail("rule unchanged")),
    # engine
    Case("core.training.start", "train", setup=_sales,
         call=lambda a, db, ctx: training.start(a, "naive", horizon=7, folds=1, db=db),
         check=lambda db, ctx, vid: _status(db, vid) == "running" or pytest.fail("no version")),
    Case("core.training.train", "train", setup=_sales,
         call=lambda a, db, ctx: training.train(a, "naive", horizon=7, folds=1, db=db),
         check=lambda db, ctx, vid: _status(db, vid) == "ready" or pytest.fail(_status(db, vid))),
    Case("core.training.train_for_demo", "train", setup=_sales,
         call=lambda a, db, ctx: training.train_for_demo(a, db, say=lambda _m: None),
         check=lambda db, ctx, vid: _status(db, vid) == "ready" or pytest.fail(_status(db, vid))),
    Case("core.jobs.start", "train", setup=_sales, call=lambda a, db, ctx: _job(a, db),
         check=lambda db, ctx, vid: _status(db, vid) == "ready" or pytest.fail(_status(db, vid))),
    Case("core.jobs.cancel", "train", setup=_running,
         call=lambda a, db, vid: jobs.cancel(a, vid, db),
         check=lambda db, vid, r: _status(db, vid) == "running cancel" or pytest.fail("not asked")),
    Case("core.forecasts.export", "download", setup=lambda db, tmp: (_versions(1)(db, tmp), tmp),
         call=lambda a, db, ctx: forecasts.export(a, ctx[0][0], ctx[1] / "fc.csv", db),
         check=lambda db, ctx, n: (n > 0 and (ctx[1] / "fc.csv").exists()) or pytest.fail("no file")),
    # inventory
    Case("core.inventory.inputs.ingest_inventory", "upload", setup=_policy_file,
         call=lambda a, db, f: inputs.ingest_inventory(db, a, f, "policy"),
         check=lambda db, f, r: _inv_count(db, "policies") == 1 or pytest.fail("policy not loaded")),
    Case("core.inventory.overrides.set_override", "upload", setup=_demo,
         call=lambda a, db, ctx: overrides.set_override(a, "BEV-001", "2026-11-02", "2026-11-09", "units",
                                                        12, "promotion", "end cap", db=db),
         check=lambda db, ctx, o: _inv_count(db, "override_events") == 1 or pytest.fail("no override")),
    Case("core.inventory.overrides.end_override", "upload", setup=_an_override,
         call=lambda a, db, oid: overrides.end_override(a, oid, db),
         check=lambda db, oid, o: overrides.list_overrides(db).empty or pytest.fail("still in force")),
    Case("core.inventory.proposals.export_orders", "download", setup=_orders_setup,
         call=lambda a, db, tmp: proposals.export_orders(a, tmp / "orders.csv", db),
         check=lambda db, tmp, df: (tmp / "orders.csv").exists() or pytest.fail("no file")),
    # retraining and challengers (core.retrain, core.challengers; imported by name to keep this list additive)
    Case("core.challengers.add", "promote", setup=_versions(2, promote=1),
         call=lambda a, db, ids: importlib.import_module("core.challengers").add(a, ids[1], db),
         check=lambda db, ids, r: [c["version_id"] for c in importlib.import_module(
             "core.challengers").list_challengers(db)] == [ids[1]] or pytest.fail("not marked")),
    Case("core.challengers.remove", "promote",
         setup=lambda db, tmp: (lambda ids: (importlib.import_module("core.challengers").add(
             ADMIN_ACTOR, ids[1], db), ids)[1])(_versions(2, promote=1)(db, tmp)),
         call=lambda a, db, ids: importlib.import_module("core.challengers").remove(a, ids[1], db),
         check=lambda db, ids, r: importlib.import_module("core.challengers").list_challengers(db) == []
         or pytest.fail("still marked")),
    Case("core.retrain.set_policy", "train",
         call=lambda a, db, ctx: importlib.import_module("core.retrain").set_policy(
             a, db, max_age_days=7, model="naive"),
         check=lambda db, ctx, r: importlib.import_module("core.retrain").get_policy(db).max_age_days == 7
         or pytest.fail("policy not saved")),
    Case("core.retrain.apply", "train",
         setup=lambda db, tmp: (_versions(1, promote=1)(db, tmp), importlib.import_module(
             "core.retrain").set_policy(ADMIN_ACTOR, db, max_age_days=30, model="naive", folds=1)),
         call=lambda a, db, ctx: importlib.import_module("core.retrain").apply(a, db),
         check=lambda db, ctx, r: (not r.needed and r.decision["active"] == ctx[0][0])
         or pytest.fail(str(r))),
    Case("core.plan_rollups.after_promote", "upload", setup=_orders_setup,
         call=lambda a, db, ctx: importlib.import_module("core.plan_rollups").after_promote(a, db),
         check=lambda db, ctx, r: r[:2] == (True, True) or pytest.fail(f"not kept: {r}")),
    Case("core.plan_rollups.after_ingest", "upload", setup=_orders_setup,
         call=lambda a, db, ctx: importlib.import_module("core.plan_rollups").after_ingest(None, a, db),
         check=lambda db, ctx, r: r is True or pytest.fail("the forecast view's actuals not kept")),
    Case("core.inventory.demo.load_demo_inventory", "upload", setup=_demo,
         call=lambda a, db, ctx: inv_demo.load_demo_inventory(a, db),
         check=lambda db, ctx, r: (_inv_count(db, "stock") == 2 and _inv_count(db, "policies") == 2)
         or pytest.fail("demo inventory not loaded")),
]


@pytest.mark.parametrize("a", ACTORS, ids=actor_id)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.func)
def test_role_matrix(case: Case, a: Actor, db, tmp_path):
    ctx = case.setup(db, tmp_path)
    if allowed(a, case.permission):
        result = case.call(a, db, ctx)
        case.check(db, ctx, result)
    else:
        before = snapshot(db)
        with pytest.raises(PermissionDenied):
            case.call(a, db, ctx)
        assert snapshot(db) == before, f"{case.func} changed the store for a refused {a}"


# --- discovery --------------------------------------------------------------------------------

SKIP_MODULES = ("core.store", "core.cli", "core.access")
_REQUIRE = re.compile(r"require\(\s*\w+\s*,\s*[\"'](\w+)[\"']")


def _takes_actor(p: inspect.Parameter) -> bool:
    return p.name == "actor" or "Actor" in str(p.annotation)


def discovered() -> dict[str, Callable]:
    """Public functions of core modules with an Actor parameter, keyed 'module.name'."""
    found: dict[str, Callable] = {}
    for info in pkgutil.walk_packages(core.__path__, "core."):
        if info.name.startswith(SKIP_MODULES):
            continue
        mod = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ != mod.__name__ or name.startswith("_"):
                continue
            if any(_takes_actor(p) for p in inspect.signature(fn).parameters.values()):
                found[f"{mod.__name__}.{name}"] = fn
    return found



def _rollups_current(db) -> bool:
    from core.store import session, summaries
    with session(db) as s:
        return summaries.series_stats_current(s)


def permission_of(fn: Callable, seen: frozenset = frozenset()) -> str | None:
    """The permission in the function's own `require(actor, "...")`, else the highest one of
    the same module's Actor-taking functions it calls (archive -> _set_archived)."""
    src = inspect.getsource(fn)
    m = _REQUIRE.search(src)
    if m:
        return m.group(1)
    mod = sys.modules[fn.__module__]
    perms = []
    for callee in set(re.findall(r"\b(\w+)\(", src)):
        g = getattr(mod, callee, None)
        if (inspect.isfunction(g) and g is not fn and g not in seen
                and g.__module__ == mod.__name__
                and any(_takes_actor(p) for p in inspect.signature(g).parameters.values())):
            p = permission_of(g, seen | {fn})
            if p:
                perms.append(p)
    return max(perms, key=lambda p: ROLES.index(PERMISSIONS[p])) if perms else None


DISCOVERED = discovered()


def test_discovery_finds_the_known_functions():
    assert {"core.ingest.ingest", "core.sharing.revoke", "core.users.add_user"} <= set(DISCOVERED)


def test_cases_cover_discovered():
    """Every function that takes an Actor and is not read-only ('view') has a CASES line."""
    covered = {c.func for c in CASES}
    missing = sorted(
        k for k, fn in DISCOVERED.items()
        if k not in covered and permission_of(fn) not in ("view",)
    )
    assert not missing, (
        f"add a Case(...) to tests/test_access_matrix.py for: {', '.join(missing)}"
    )


def _denied_pairs() -> list:
    """(function, actor) for every discovered function not yet in CASES and every actor lacking
    its permission (a function with no `require(actor, "...")` found must at least refuse a
    share link). Functions in CASES are checked there, with real arguments."""
    pairs = []
    covered = {c.func for c in CASES}
    for name in sorted(set(DISCOVERED) - covered):
        perm = permission_of(DISCOVERED[name])
        for a in ACTORS:
            if (perm is None and a.via_link) or (perm and perm != "view" and not allowed(a, perm)):
                pairs.append(pytest.param(name, a, id=f"{name}-{actor_id(a)}"))
    return pairs


@pytest.mark.parametrize("name, a", _denied_pairs())
def test_discovered_refuses_below_permission(name: str, a: Actor, db):
    """Placeholder arguments: a function must check the role before it looks at them."""
    fn = DISCOVERED[name]
    kwargs = {}
    for p in inspect.signature(fn).parameters.values():
        if _takes_actor(p):
            kwargs[p.name] = a
        elif p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            kwargs[p.name] = None
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        fn(**kwargs)
    assert snapshot(db) == before
