"""Peer benchmark: fit one conditional logit with skpolicy and each peer, side by side.

Every (contestant, size, format) runs in its own subprocess, in the contestant's
virtual environment (see setup_envs.sh), under a wall-clock limit and a resident
memory limit. The child times only the fit (conversion into the peer's format is
timed separately) and writes JSON; this runner re-evaluates the log-likelihood at
every contestant's coefficients with one float64 function (``datagen.loglik``),
flags those more than ``--ll-rtol`` below the best, and writes ``results.json`` and
``results.md``.

    python benchmarks/peers/run.py                               # everything
    python benchmarks/peers/run.py --sizes 1000 --peers skpolicy,xlogit --repeat 5

Run it with any Python that has numpy (the ``main`` benchmark environment does).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datagen  # noqa: E402
import report  # noqa: E402

#: contestant -> (environment, label for the tables). Order = order in the tables.
CONTESTANTS = {
    "skpolicy": ("main", "skpolicy (dense ndarray)"),
    "skpolicy_long": ("main", "skpolicy (long DataFrame)"),
    "skpolicy_numpy": ("main", "skpolicy (dense, engine=numpy)"),
    "numpy_lbfgs": ("main", "numpy reference (L-BFGS)"),
    "numpy_trust_exact": ("main", "numpy reference (trust-exact)"),
    "xlogit": ("main", "xlogit"),
    "larch_numba": ("main", "larch (numba)"),
    "larch": ("main", "larch (JAX)"),
    "torch_choice": ("main", "torch-choice (LBFGS)"),
    "biogeme": ("main", "biogeme"),
    "pylogit": ("py39", "pylogit"),
    "choice_learn": ("tf", "choice-learn"),
    "statsmodels": ("main", "statsmodels ConditionalLogit"),
}

FORMATS = {"dense": 0.0, "ragged": None}  # ragged share comes from --unavailable
FINAL = ("ok", "timeout", "out of memory", "killed")  # --resume keeps these


def _int_list(text):
    return [int(float(t)) for t in text.split(",") if t]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=_int_list, default=[1000, 100_000, 1_000_000])
    p.add_argument("--formats", default="dense,ragged")
    p.add_argument(
        "--peers", default="all", help=f"comma list or 'all': {','.join(CONTESTANTS)}"
    )
    p.add_argument("--alternatives", "-J", type=int, default=10)
    p.add_argument("--features", "-K", type=int, default=10)
    p.add_argument("--unavailable", type=float, default=0.3, help="ragged share")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=5, help="best of up to R fits")
    p.add_argument(
        "--repeat-budget",
        type=float,
        default=30.0,
        help="stop repeating once the fits took this many seconds (slow runs: once)",
    )
    p.add_argument("--time-limit", type=float, default=600.0, help="seconds per child")
    p.add_argument("--mem-limit-gb", type=float, default=16.0, help="RSS per child")
    p.add_argument("--ll-rtol", type=float, default=1e-6)
    p.add_argument(
        "--keep-going-after-timeout",
        action="store_true",
        help="by default a contestant that hit the time limit at n is not run at"
        " larger n (nor the other format at the same n): reported as skipped",
    )
    p.add_argument("--envs", default=os.environ.get("BENCH_ENVS", "/work/bench-envs"))
    p.add_argument("--data-dir", default=datagen.DEFAULT_ROOT)
    p.add_argument(
        "--work-dir",
        default=os.environ.get("BENCH_WORK", "/work/bench-results"),
        help="child JSON and logs (outside the repo)",
    )
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="results dir")
    p.add_argument(
        "--resume",
        action="store_true",
        help="keep the entries of results.json: those of the --peers selected are"
        " rerun unless ok/timeout/OOM, the others are kept as they are",
    )
    p.add_argument(
        "--redo",
        action="store_true",
        help="with --resume: rerun the selected --peers even where they finished",
    )
    args = p.parse_args(argv)
    args.formats = [f for f in args.formats.split(",") if f]
    for f in args.formats:
        if f not in FORMATS:
            p.error(f"unknown format {f!r}: dense, ragged")
    peers = list(CONTESTANTS) if args.peers == "all" else args.peers.split(",")
    for name in peers:
        if name not in CONTESTANTS:
            p.error(f"unknown peer {name!r}: {', '.join(CONTESTANTS)}")
    args.peers = [c for c in CONTESTANTS if c in peers]  # table order
    return args


def _child_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(args, name, data_path, tag):
    """Run one contestant in its environment; return the child's JSON plus status."""
    env_name = CONTESTANTS[name][0]
    python = os.path.join(args.envs, env_name, "bin", "python")
    os.makedirs(args.work_dir, exist_ok=True)
    out_json = os.path.join(args.work_dir, f"{tag}.json")
    log_path = os.path.join(args.work_dir, f"{tag}.log")
    if os.path.exists(out_json):
        os.remove(out_json)
    cmd = [
        python,
        os.path.join(HERE, "child.py"),
        "--peer",
        name,
        "--data",
        data_path,
        "--out",
        out_json,
        "--repeat",
        str(args.repeat),
        "--repeat-budget",
        str(args.repeat_budget),
    ]
    if not os.path.exists(python):
        return {"status": "error", "error": f"environment missing: {python}"}
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    killed_for = None
    max_rss = 0.0
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=args.work_dir,  # any file a peer writes lands there, not in the repo
            env=dict(
                os.environ,
                PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ in the repo
                # numba caches compiled code next to the sources by default; each
                # environment (with its own numba version) gets its own cache, so
                # that switching environments does not force recompiles.
                NUMBA_CACHE_DIR=os.path.join(args.work_dir, "numba-cache", env_name),
            ),
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            elapsed = time.monotonic() - start
            rss = _child_rss_mib(proc.pid)
            max_rss = max(max_rss, rss)
            if killed_for is None and elapsed > args.time_limit:
                killed_for = "timeout"
            elif killed_for is None and rss > args.mem_limit_gb * 1024:
                killed_for = "out of memory"
            if killed_for:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05 if elapsed < 5 else 0.25)
    wall = time.monotonic() - start
    try:
        with open(out_json) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {}
    res["wall_s"] = wall
    res["loadavg_1min"] = [load_before, os.getloadavg()[0]]
    res["returncode"] = proc.returncode
    res["child_maxrss_mib"] = usage.ru_maxrss / 1024
    res["runner_sampled_max_rss_mib"] = max_rss
    res["log"] = log_path
    if killed_for == "timeout":
        res["status"] = "timeout"
        res["error"] = (
            f"killed after {args.time_limit:g} s in phase {res.get('phase', '?')}"
        )
    elif killed_for == "out of memory":
        res["status"] = "out of memory"
        res["error"] = (
            f"RSS above {args.mem_limit_gb:g} GB in phase {res.get('phase', '?')}"
        )
    elif proc.returncode < 0:
        res["status"] = "killed"
        res["error"] = f"signal {-proc.returncode} in phase {res.get('phase', '?')}" + (
            " (the kernel's OOM killer?)" if proc.returncode == -9 else ""
        )
    elif res.get("status") != "ok":
        res["status"] = "error"
        res.setdefault("error", _tail(log_path))
    return res


def _tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])[-2000:]
    except OSError:
        return ""


def evaluate(entries, data_path, rtol):
    """Re-evaluate each finished contestant's log-likelihood with datagen.loglik."""
    data = datagen.load(data_path)
    for e in entries:
        if e.get("status") == "ok" and e.get("coef") is not None:
            coef = np.asarray(e["coef"], dtype=float)
            if coef.shape == data["theta"].shape and np.all(np.isfinite(coef)):
                e["loglik"] = datagen.loglik(coef, data["X"], data["y"], data["avail"])
            else:
                e["loglik"] = None
                e["error"] = f"coefficients unusable: shape {coef.shape}"
    lls = [e["loglik"] for e in entries if e.get("loglik") is not None]
    best = max(lls) if lls else None
    ll_true = datagen.loglik(data["theta"], data["X"], data["y"], data["avail"])
    best_coef = None
    for e in entries:
        if e.get("loglik") is not None and e["loglik"] == best:
            best_coef = np.asarray(e["coef"])
    for e in entries:
        if e.get("loglik") is None:
            continue
        e["loglik_best"] = best
        e["loglik_rel_gap"] = (best - e["loglik"]) / abs(best)
        e["loglik_ok"] = bool(e["loglik_rel_gap"] <= rtol)
        e["coef_max_abs_diff_vs_best"] = float(
            np.max(np.abs(np.asarray(e["coef"]) - best_coef))
        )
    return ll_true


def machine_info():
    info = {
        "platform": platform.platform(),
        "python_runner": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "thread_env": {
            k: os.environ[k]
            for k in sorted(os.environ)
            if k.startswith(("OMP_", "OPENBLAS_", "MKL_", "XLA_", "TF_NUM", "NUMBA_"))
        },
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    repo = os.path.dirname(os.path.dirname(HERE))
    try:
        git = ["git", "-C", repo]
        info["skpolicy_commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "skpolicy"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        info["skpolicy_worktree_modified"] = bool(dirty)
    except OSError:
        pass
    return info


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.json")
    run_id = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.work_dir = os.path.join(args.work_dir, run_id)
    doc = {"entries": []}
    if args.resume and os.path.exists(results_path):
        with open(results_path) as f:
            doc = json.load(f)
    if doc["entries"] and "runs" not in doc:  # written before runs were recorded
        doc["runs"] = {}
        doc["runs"]["earlier"] = {
            "started": doc.get("started"),
            "config": doc.get("config", {}),
            "skpolicy_commit": doc.get("machine", {}).get("skpolicy_commit"),
        }
        for e in doc["entries"]:
            e.setdefault("run_id", "earlier")
    doc["config"] = {
        k: v
        for k, v in vars(args).items()
        if k not in ("out", "resume", "redo", "work_dir")
    }
    doc["machine"] = machine_info()
    doc.setdefault("runs", {})[run_id] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": doc["config"],
        "skpolicy_commit": doc["machine"].get("skpolicy_commit"),
    }
    doc["labels"] = {k: v[1] for k, v in CONTESTANTS.items()}
    doc.setdefault("started", datetime.datetime.now().isoformat(timespec="seconds"))
    doc["datasets"] = doc.get("datasets", {})

    def selected(e):
        where = e["n"] in args.sizes and e["format"] in args.formats
        return where and e["peer"] in args.peers

    done = {
        (e["peer"], e["n"], e["format"]): e
        for e in doc["entries"]
        if not selected(e) or (e.get("status") in FINAL and not args.redo)
    }
    timed_out = {}  # peer -> (n, format) where it hit the time limit
    J, K = args.alternatives, args.features
    t_total = time.monotonic()

    def save():
        doc["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        doc["entries"] = sorted(
            done.values(),
            key=lambda e: (e["n"], list(FORMATS).index(e["format"]), e["order"]),
        )
        with open(results_path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(results_path + ".tmp", results_path)
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(report.markdown(doc))

    for n in sorted(args.sizes):
        for fmt in args.formats:
            share = FORMATS[fmt] if FORMATS[fmt] is not None else args.unavailable
            start = time.monotonic()
            data_path = datagen.ensure_dataset(n, J, K, share, args.seed, args.data_dir)
            key = f"{n}/{fmt}"
            doc["datasets"].setdefault(key, {})
            doc["datasets"][key].update(
                path=data_path,
                n=n,
                J=J,
                K=K,
                unavailable=share,
                seed=args.seed,
                feature_bytes=n * J * K * 8,
            )
            print(f"== n={n} {fmt}: {data_path} ({time.monotonic() - start:.1f} s)")
            for name in args.peers:
                prev = done.get((name, n, fmt))
                if prev is not None:
                    if prev["status"] == "timeout":
                        timed_out.setdefault(name, (n, fmt))
                    continue
                base = {
                    "peer": name,
                    "label": CONTESTANTS[name][1],
                    "env": CONTESTANTS[name][0],
                    "n": n,
                    "format": fmt,
                    "order": list(CONTESTANTS).index(name),
                    "run_id": run_id,
                }
                if name in timed_out and not args.keep_going_after_timeout:
                    tn, tf = timed_out[name]
                    e = dict(
                        base,
                        status="skipped",
                        error=f"not run: hit the time limit at n={tn} ({tf})",
                    )
                else:
                    tag = f"{name}_n{n}_{fmt}"
                    e = dict(run_child(args, name, data_path, tag), **base)
                    if e["status"] == "timeout":
                        timed_out.setdefault(name, (n, fmt))
                line = f"   {name:18} {e['status']:8}"
                if e["status"] == "ok":
                    line += (
                        f" fit {e['fit_s']:9.3f} s  convert {e['convert_s']:8.3f} s"
                        f"  iter {e.get('n_iter')}"
                        f"  peak {e.get('peak_rss_mib', 0):7.0f} MiB"
                        f"  fit +{e.get('fit_mem_increase_max_mib', 0):6.0f} MiB"
                    )
                else:
                    line += " " + str(e.get("error", "")).strip().splitlines()[-1][:150]
                print(line, flush=True)
                done[(name, n, fmt)] = e
                save()
            # Compare with every entry of this data set, including resumed ones.
            entries = [e for e in done.values() if (e["n"], e["format"]) == (n, fmt)]
            doc["datasets"][key]["loglik_true_theta"] = evaluate(
                entries, data_path, args.ll_rtol
            )
            save()
    doc["total_wall_s"] = time.monotonic() - t_total
    save()
    print(f"wrote {results_path} and results.md ({doc['total_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
