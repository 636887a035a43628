"""First fits in fresh processes: numba's cold and warm cache, engine by engine.

Each run is a new Python process that imports skpolicy (timed apart), loads the
data (not timed) and fits twice under ``config_context(engine=...)``: the *first*
fit is what a one-off script pays, compilation of numba's kernel included; the
second shows the steady state. The numba cache is a directory of its own per run
(``NUMBA_CACHE_DIR``): empty for ``cold``, filled beforehand by a process that
compiled both kernels for ``warm``. With ``auto`` on a cold cache, skpolicy fits
with numpy and compiles the kernel in a background process; the benchmark waits
for that process to end before the next run (``bg s``: how long after the fitting
process ended), so that runs do not overlap. The configurations run round robin,
``--repeat`` rounds. Run by hand, never in the test suite:

    python benchmarks/cold_start.py                       # both models, 10^6
    python benchmarks/cold_start.py --models policy --n 100000 --repeat 3
    python benchmarks/cold_start.py --engines auto,numpy --caches cold

Models: ``logit``, the conditional logit of n situations x 10 alternatives x 10
features (``SoftmaxChoiceEstimator``, dense input); ``policy``, ``SoftmaxPolicy`` on
n states x 10 state features with 10 actions (99 coefficients).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    start = time.perf_counter()
    import numpy as np
    import skpolicy
    from skpolicy import SoftmaxChoiceEstimator, SoftmaxPolicy, _engines
    from skpolicy import _linear_loss
    imported = time.perf_counter() - start
    model, engine, folder = sys.argv[1:4]
    X = np.load(os.path.join(folder, model + "_X.npy"))
    y = np.load(os.path.join(folder, model + "_y.npy"))
    used = []
    init = _linear_loss.LinearChoiceLoss.__init__
    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        used.append(self.engine)
    _linear_loss.LinearChoiceLoss.__init__ = record
    Estimator = SoftmaxPolicy if model == "policy" else SoftmaxChoiceEstimator
    fits, engines = [], []
    with skpolicy.config_context(engine=engine):
        for _ in range(2):
            used.clear()
            start = time.perf_counter()
            est = Estimator().fit(X, y)
            fits.append(time.perf_counter() - start)
            engines.append(used[0] if used else "?")
    background = [p.pid for p in _engines._COMPILING.values() if p is not None]
    print(json.dumps({"import": imported, "fits": fits, "engines": engines,
                      "n_iter": int(est.n_iter_), "background": background}))
    """
)


def make_data(folder, models, n):
    """Write each model's X and y to ``folder`` (once)."""
    from skpolicy.datasets import make_choice_data

    for model in models:
        path = os.path.join(folder, f"{model}_X.npy")
        if os.path.exists(path):
            continue
        if model == "logit":
            X, y = make_choice_data(n, 10, 10, random_state=0)
        else:
            rng = np.random.default_rng(0)
            X = rng.normal(size=(n, 10))
            coef = rng.normal(size=(10, 10)) / np.sqrt(10)
            y = (X @ coef + rng.gumbel(size=(n, 10))).argmax(axis=1)
        np.save(path, X)
        np.save(os.path.join(folder, f"{model}_y.npy"), y)


def warm_cache(folder):
    """A numba cache directory holding both kernels."""
    code = (
        "from skpolicy import _engines\n"
        "_engines.compile_kernel(False)\n_engines.compile_kernel(True)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=folder)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def wait_for(pids, timeout=600):
    """Seconds until the processes ``pids`` (background compilations) ended."""
    start = time.perf_counter()
    while pids and time.perf_counter() - start < timeout:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}")]
        if pids:
            time.sleep(0.2)
    return time.perf_counter() - start


def run(model, engine, cache, data, warm, timeout):
    """One fresh process; returns its measurements."""
    folder = tempfile.mkdtemp(prefix="skpolicy-numba-") if cache == "cold" else warm
    env = dict(os.environ, NUMBA_CACHE_DIR=folder)
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, model, engine, data],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if child.returncode:
            raise RuntimeError(f"{model} {engine} {cache} failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["background_s"] = wait_for(result["background"])
    finally:
        if cache == "cold":
            shutil.rmtree(folder, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="situations/states")
    parser.add_argument("--models", default="logit,policy")
    parser.add_argument("--engines", default="numpy,numba,auto")
    parser.add_argument("--caches", default="cold,warm")
    parser.add_argument("--repeat", type=int, default=2, help="processes per row")
    parser.add_argument("--data-dir", default=None, help="keep the data here")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    models = args.models.split(",")
    data = args.data_dir or tempfile.mkdtemp(prefix="skpolicy-cold-data-")
    os.makedirs(data, exist_ok=True)
    make_data(data, models, args.n)
    warm = tempfile.mkdtemp(prefix="skpolicy-numba-warm-")
    try:
        if "warm" in args.caches:
            warm_cache(warm)
        configs = [
            (model, cache, engine)
            for model in models
            for cache in args.caches.split(",")
            for engine in args.engines.split(",")
        ]
        # Round robin: every configuration once per round, so that a change in
        # the machine's load affects them alike.
        results = {config: [] for config in configs}
        loads = {config: [] for config in configs}
        for round_ in range(args.repeat):
            for config in configs:
                before = os.getloadavg()[0]
                model, cache, engine = config
                results[config].append(
                    run(model, engine, cache, data, warm, args.timeout)
                )
                loads[config] += [before, os.getloadavg()[0]]
                r = results[config][-1]
                print(
                    f"round {round_ + 1}: {' '.join(config)}: first fit "
                    f"{r['fits'][0]:.2f} s ({r['engines'][0]})",
                    file=sys.stderr,
                    flush=True,
                )
        print(
            f"n = {args.n}; {args.repeat} fresh processes per row, run round robin; "
            "fit times: best, median (and all) of the first fits; load average "
            "range over the row's runs"
        )
        print(
            f"{'model':6} {'cache':5} {'engine':6} {'import s':>8} {'1st best':>8} "
            f"{'median':>7} {'2nd fit':>7} {'engines':13} {'bg s':>5} {'load':>9}"
            "  all first fits"
        )
        for config in configs:
            rs = results[config]
            first = [r["fits"][0] for r in rs]
            best = rs[int(np.argmin(first))]
            background = [r["background_s"] for r in rs if r["background"]]
            print(
                f"{config[0]:6} {config[1]:5} {config[2]:6} "
                f"{min(r['import'] for r in rs):8.2f} {min(first):8.2f} "
                f"{np.median(first):7.2f} {min(r['fits'][1] for r in rs):7.2f} "
                f"{'/'.join(best['engines']):13} "
                f"{max(background, default=0):5.1f} "
                f"{min(loads[config]):4.1f}-{max(loads[config]):4.1f}  "
                + " ".join(f"{f:.2f}" for f in first)
            )
    finally:
        shutil.rmtree(warm, ignore_errors=True)
        if args.data_dir is None:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
