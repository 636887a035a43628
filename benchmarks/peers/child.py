"""Run one contestant on one cached data set and write the result as JSON.

Started by ``run.py`` in the contestant's own virtual environment, one process per
(contestant, size, format), under a wall-clock limit enforced by the parent:

    python child.py --peer xlogit --data /work/bench-data/....npz --out result.json

Phases: import the peer (its version string), load the data, convert it into the
peer's format (``convert_s``), then fit from θ = 0 up to ``--repeat`` times while the
fits so far took less than ``--repeat-budget`` seconds (``fit_s`` is the best). The
JSON file is rewritten after every phase, so a run killed by the time or memory limit
still tells how far it got.

Memory (Linux): ``peak_rss_mib`` is the process's high-water mark (VmHWM, the largest
seen over the phases, since the resets below also reset it). Before each
fit the high-water mark is reset (``/proc/self/clear_refs``), so
``fit_mem_increase_mib`` is the peak resident memory during the fit minus the resident
memory when the fit started. Without that file it falls back to ``ru_maxrss``
differences, which see only increases over the earlier peak.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import adapters  # noqa: E402
import datagen  # noqa: E402

MIB = 2.0**20


def _status_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_mib():
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024 / MIB


def _peak_mib():
    kib = _status_kib("VmHWM")
    if kib is None:  # ru_maxrss is in KiB on Linux
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / MIB


def _threads_info():
    info = {
        "cpu_count": os.cpu_count(),
        "env": {
            k: os.environ[k]
            for k in sorted(os.environ)
            if k.startswith(("OMP_", "OPENBLAS_", "MKL_", "XLA_", "TF_NUM", "NUMBA_"))
        },
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "num_threads")}
            for p in threadpool_info()
        ]
    except Exception:  # threadpoolctl is not in every environment
        pass
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", required=True, choices=sorted(adapters.ADAPTERS))
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-budget", type=float, default=20.0)
    args = parser.parse_args()

    env, version_fn, convert, fit, description = adapters.ADAPTERS[args.peer]
    out = {
        "peer": args.peer,
        "description": description,
        "status": "running",
        "phase": "start",
        "python": platform.python_version(),
        "executable": sys.executable,
        "pid": os.getpid(),
    }

    def dump():
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=1)
        os.replace(tmp, args.out)

    try:
        out["phase"] = "import"
        dump()
        start = time.perf_counter()
        out["version"] = version_fn()
        out["import_s"] = time.perf_counter() - start

        out["phase"] = "load"
        dump()
        start = time.perf_counter()
        data = datagen.load(args.data)
        out["load_s"] = time.perf_counter() - start
        out["rss_after_load_mib"] = _rss_mib()

        out["phase"] = "convert"
        dump()
        state, out["convert_s"] = adapters.timed(convert, data)
        out["rss_after_convert_mib"] = _rss_mib()
        out["peak_rss_convert_mib"] = out["peak_rss_mib"] = _peak_mib()

        out["phase"] = "fit"
        out["fit_times"] = []
        out["fit_mem_increase_mib"] = []
        dump()
        resettable = _reset_peak()
        out["peak_reset"] = resettable
        for _ in range(max(1, args.repeat)):
            before = _rss_mib() if resettable else _peak_mib()
            if resettable:
                _reset_peak()
            result, seconds = adapters.timed(fit, state)
            peak = _peak_mib()
            out["fit_times"].append(seconds)
            out["fit_mem_increase_mib"].append(max(0.0, peak - before))
            out["peak_rss_mib"] = max(out["peak_rss_mib"], peak)
            out.update(result)
            dump()
            if sum(out["fit_times"]) >= args.repeat_budget:
                break
        out["fit_s"] = min(out["fit_times"])
        out["fit_mem_increase_max_mib"] = max(out["fit_mem_increase_mib"])
        out["threads"] = _threads_info()
        out["status"] = "ok"
        out["phase"] = "done"
    except BaseException as exc:  # report any failure, including MemoryError
        out["status"] = "error"
        out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        out["traceback"] = traceback.format_exc()[-6000:]
        dump()
        sys.exit(1)
    dump()


if __name__ == "__main__":
    main()
