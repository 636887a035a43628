"""Markdown tables from the peer benchmark's ``results.json``.

    python benchmarks/peers/report.py benchmarks/peers/results/results.json

``run.py`` calls :func:`markdown` after every contestant, so ``results.md`` is always
current; this script rebuilds it by hand.
"""

from __future__ import annotations

import json
import sys

MIB = 2.0**20


def _n(n):
    exp = len(str(n)) - 1
    return f"10^{exp}" if n == 10**exp else f"{n:,}"


def _secs(s):
    if s is None:
        return "–"
    if s < 1:
        return f"{s * 1000:.3g} ms"
    return f"{s:.3g} s" if s < 100 else f"{s:.0f} s"


def _times(r):
    return f"{r:.2g}×" if r < 10 else f"{r:,.0f}×"


def _short_status(e):
    status = e.get("status", "?")
    return {"out of memory": "OOM"}.get(status, status)


def _ratio(e, ref):
    if e.get("status") != "ok" or ref is None or not ref.get("fit_s"):
        return None
    return e["fit_s"] / ref["fit_s"]


def _flag(e):
    if e.get("loglik_ok") is False:
        return " ⚠"
    return ""


def _groups(doc):
    """Entries by (n, format), each list in the contestants' table order."""
    order = list(doc.get("labels", {}))
    out = {}
    for e in doc["entries"]:
        out.setdefault((e["n"], e["format"]), []).append(e)
    for entries in out.values():
        entries.sort(key=lambda e: order.index(e["peer"]) if e["peer"] in order else 99)
    return out


def _load(doc):
    loads = [x for e in doc["entries"] for x in e.get("loadavg_1min", [])]
    if not loads:
        return ""
    return (
        f"The machine was shared: the 1-minute load average around the runs ranged"
        f" {min(loads):.1f}–{max(loads):.1f} (2 cores)."
    )


def _runs(doc):
    """Say which rows come from which invocation, when --resume mixed several."""
    used = {}
    for e in doc["entries"]:
        if e.get("run_id"):
            used.setdefault(e["run_id"], set()).add(e["peer"])
    if len(used) < 2:
        return ""
    labels = doc.get("labels", {})
    parts = []
    for run_id in sorted(used):
        run = doc.get("runs", {}).get(run_id, {})
        c = run.get("config", {})
        peers = ", ".join(labels.get(p, p) for p in sorted(used[run_id]))
        parts.append(
            f"run {run_id} (started {run.get('started', '?')}, best of up to"
            f" {c.get('repeat')} fits within {c.get('repeat_budget')} s): {peers}"
        )
    return " Rows come from several runs: " + "; ".join(parts) + "."


def summary(doc):
    """Fit time (and × skpolicy) per contestant and data set in one table."""
    groups = _groups(doc)
    keys = sorted(groups, key=lambda k: (k[0], k[1] != "dense"))
    labels = doc.get("labels", {})
    order = list(labels)
    peers = sorted(
        {e["peer"] for k in keys for e in groups[k]},
        key=lambda p: order.index(p) if p in order else 99,
    )
    head = "| contestant | " + " | ".join(f"{_n(n)} {fmt}" for n, fmt in keys) + " |"
    lines = [head, "|---|" + "---:|" * len(keys)]
    for p in peers:
        cells = []
        for k in keys:
            ref = next((e for e in groups[k] if e["peer"] == "skpolicy"), None)
            e = next((e for e in groups[k] if e["peer"] == p), None)
            if e is None:
                cells.append("")
            elif e.get("status") == "ok":
                r = _ratio(e, ref)
                rs = f" ({_times(r)})" if r is not None else ""
                cells.append(f"{_secs(e['fit_s'])}{rs}{_flag(e)}")
            else:
                cells.append(_short_status(e))
        lines.append(f"| {labels.get(p, p)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail(doc, n, fmt, entries):
    """One data set: every contestant with time, log-likelihood, iterations, memory."""
    ds = doc.get("datasets", {}).get(f"{n}/{fmt}", {})
    nbytes = ds.get("feature_bytes") or 0
    ref = next((e for e in entries if e["peer"] == "skpolicy"), None)
    lines = [
        f"#### n = {_n(n)}, {fmt}"
        + (f" ({ds.get('unavailable', 0):.0%} unavailable)" if fmt == "ragged" else "")
        + f": float64 feature array {nbytes / MIB:,.0f} MiB",
        "",
        "| contestant | fit | × skpolicy | first fit (fits) | convert | iter"
        " | log-likelihood | rel. gap to best | peak RSS MiB | fit +RSS MiB"
        " | fit +RSS / array | status |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for e in entries:
        label = doc.get("labels", {}).get(e["peer"], e["peer"])
        if e.get("status") == "ok":
            r = _ratio(e, ref)
            inc = e.get("fit_mem_increase_max_mib")
            times = e.get("fit_times") or [e["fit_s"]]
            it = e.get("n_iter")
            if it is None and e.get("n_eval") is not None:
                it = f"({e['n_eval']} evals)"
            ll = e.get("loglik")
            gap = e.get("loglik_rel_gap")
            status = "ok" if e.get("loglik_ok", True) else "⚠ LL below best"
            lines.append(
                f"| {label} | {_secs(e['fit_s'])} | "
                + (_times(r) if r is not None else "–")
                + f" | {_secs(times[0])} ({len(times)})"
                + f" | {_secs(e.get('convert_s'))} | {it if it is not None else '–'}"
                + (f" | {ll:,.4f}" if ll is not None else " | –")
                + (f" | {gap:.1e}" if gap is not None else " | –")
                + f" | {e.get('peak_rss_mib', 0):,.0f} | {inc:,.0f} | "
                + (f"{inc * MIB / nbytes:.2f}" if nbytes else "–")
                + f" | {status}{_flag(e)} |"
            )
        else:
            err = str(e.get("error", "")).strip().replace("|", "/").splitlines()
            err = err[-1][:120] if err else ""
            lines.append(
                f"| {label} | – | – | – | {_secs(e.get('convert_s'))} | – | – | – | "
                f"{e.get('runner_sampled_max_rss_mib', 0) or 0:,.0f} | – | – | "
                f"**{_short_status(e)}**: {err} |"
            )
    ll_true = ds.get("loglik_true_theta")
    if ll_true is not None:
        lines += ["", f"Log-likelihood at the true θ: {ll_true:,.4f}."]
    return "\n".join(lines)


def versions(doc):
    """Every contestant's version string (from its own environment)."""
    labels = doc.get("labels", {})
    seen = {}
    for e in doc["entries"]:
        if e.get("version"):
            versions, _, _ = seen.setdefault(
                e["peer"], ([], e.get("env"), e.get("python"))
            )
            if e["version"] not in versions:  # skpolicy's source may change mid-run
                versions.append(e["version"])
    lines = ["| contestant | version | environment (Python) |", "|---|---|---|"]
    for p, (vs, env, py) in seen.items():
        lines.append(f"| {labels.get(p, p)} | {'; '.join(vs)} | {env} ({py}) |")
    return "\n".join(lines)


def markdown(doc):
    """The whole report: header, summary, versions, then one table per data set."""
    m = doc.get("machine", {})
    c = doc.get("config", {})
    parts = [
        "# Peer benchmark results",
        "",
        f"Run {doc.get('started', '?')} → {doc.get('finished', '?')} on "
        f"{m.get('cpu', '?')}, {m.get('cpu_count', '?')} cores, "
        f"{m.get('mem_total_gib', '?')} GiB; skpolicy at commit "
        f"{m.get('skpolicy_commit', '?')}"
        + (" (+ uncommitted changes)" if m.get("skpolicy_worktree_modified") else "")
        + f". J = {c.get('alternatives')}, K = {c.get('features')}, seed "
        f"{c.get('seed')}; best of up to {c.get('repeat')} fits (stopping once"
        f" they took {c.get('repeat_budget')} s); limits {c.get('time_limit')} s and "
        f"{c.get('mem_limit_gb')} GB per run. Thread variables set: "
        f"{m.get('thread_env') or 'none'}. {_load(doc)}{_runs(doc)}",
        "",
        "Fit time, and in brackets as a multiple of skpolicy's (dense) fit time on the"
        " same data; ⚠ = log-likelihood more than "
        f"{c.get('ll_rtol', 1e-6):g} (relative) below the best contestant's.",
        "",
        summary(doc),
        "",
        "### Versions",
        "",
        versions(doc),
        "",
        "### Per data set",
        "",
        "fit = best fit time; first fit = the first of the fits in the process"
        " (with JIT compilation, if any) and how many were run; convert = time to"
        " build the peer's input from the cached arrays (not in fit); peak RSS ="
        " the child process's high-water mark (data, conversion and fit); fit +RSS"
        " = peak resident memory during the fit minus resident memory when it"
        " started; / array = that increase over the size of the float64 feature"
        " array n·J·K·8. The log-likelihood is re-evaluated at each contestant's"
        " coefficients by one float64 function.",
    ]
    for (n, fmt), entries in sorted(
        _groups(doc).items(), key=lambda kv: (kv[0][0], kv[0][1] != "dense")
    ):
        parts += ["", detail(doc, n, fmt, entries)]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(markdown(json.load(f)), end="")
