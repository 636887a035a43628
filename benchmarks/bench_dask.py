"""Dask fits against in-memory fits, and an out-of-core fit from Parquet (issue 11).

Two experiments, run by hand (never in the test suite):

``overhead``
    The same dense data (n situations x 10 alternatives x 10 features, float32,
    drawn chunk by chunk from fixed seeds) fitted in memory and on a
    ``LocalCluster`` (2 worker processes x 1 thread: the machine's two cores).
    Reports the fit time, the passes, the time per pass (a pass = loss, gradient
    and Hessian at one iterate) and their ratios. On the cluster the data are
    drawn on the workers and persisted there; nothing large goes through the
    client.

``ooc``
    Writes long-format Parquet (one row per alternative: a situation id, 10
    float32 features, the 0/1 choice) and fits it with
    ``dask.config.set({"skpolicy.persist": False})``: every pass reads and
    validates the files again, so memory holds only the partitions in flight.
    Reports the bytes on disk, the passes, the time of the validation pass and
    of each solver pass, and the peak resident memory of this process (the
    threaded scheduler, 2 threads). The files are deleted at the end.

Commands (2 cores, 24 GB)::

    python benchmarks/bench_dask.py overhead --sizes 1000000,10000000 [--engine numba]
    python benchmarks/bench_dask.py ooc --situations 10000000 --dir /work/tmp_bench
"""

import argparse
import resource
import shutil
import time
from pathlib import Path

import numpy as np

J, K = 10, 10
COEF = np.linspace(-1.0, 1.0, K)
CHUNK = 250_000  # situations per chunk / partition


def dense_chunk(seed, n):
    """(X float32 (n, J, K), y (n,)) of one chunk, from its own seed."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, J, K), dtype=np.float32)
    u = X @ COEF.astype(np.float32) + rng.gumbel(size=(n, J)).astype(np.float32)
    return X, u.argmax(axis=1)


def _sizes(n):
    return [min(CHUNK, n - start) for start in range(0, n, CHUNK)]


def overhead(sizes):
    import dask
    import dask.array as da
    import distributed

    from skpolicy import SoftmaxChoiceEstimator
    from skpolicy._dask import last_fit

    rows = []
    for n in sizes:
        chunks = _sizes(n)
        # In memory.
        pieces = [dense_chunk(i, c) for i, c in enumerate(chunks)]
        X = np.concatenate([p[0] for p in pieces])
        y = np.concatenate([p[1] for p in pieces])
        del pieces
        t = time.perf_counter()
        est = SoftmaxChoiceEstimator().fit(X, y)
        t_mem = time.perf_counter() - t
        coef_mem = est.coef_
        passes_mem = _passes_in_memory(X, y)
        del X, y
        # LocalCluster: 2 processes x 1 thread, the data drawn on the workers.
        with (
            distributed.LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                memory_limit="10GB",
                dashboard_address=None,
                silence_logs=50,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            draws = [
                dask.delayed(dense_chunk, pure=True)(i, c) for i, c in enumerate(chunks)
            ]
            dX = da.concatenate(
                [
                    da.from_delayed(d[0], shape=(c, J, K), dtype=np.float32)
                    for d, c in zip(draws, chunks, strict=True)
                ]
            )
            dy = da.concatenate(
                [
                    da.from_delayed(d[1], shape=(c,), dtype=np.int64)
                    for d, c in zip(draws, chunks, strict=True)
                ]
            )
            # Draw the data on the workers and keep it there (as a source that is
            # already in memory), and warm the workers (imports, numba's cache).
            t = time.perf_counter()
            dX, dy = dask.persist(dX, dy)
            distributed.wait([dX, dy])
            t_draw = time.perf_counter() - t
            client.run(_warm)  # on every worker: numba's kernel loaded or compiled
            SoftmaxChoiceEstimator().fit(dX[:CHUNK], dy[:CHUNK])
            # The first fit of a fresh cluster may wait for numba on the workers
            # (loading or compiling the kernel); the second shows the steady state.
            t = time.perf_counter()
            SoftmaxChoiceEstimator().fit(dX, dy)
            t_first = time.perf_counter() - t
            t = time.perf_counter()
            est = SoftmaxChoiceEstimator().fit(dX, dy)
            t_dask = time.perf_counter() - t
            passes = last_fit["n_passes"]
            per_pass = _dask_pass_time(est, dX, dy)
        rows.append(
            {
                "n": n,
                "mem_fit": t_mem,
                "mem_passes": passes_mem[0],
                "mem_pass": passes_mem[1],
                "dask_fit": t_dask,
                "dask_first_fit": t_first,
                "draw": t_draw,
                "dask_passes": passes,
                "dask_pass": per_pass,
                "max_rel_diff": float(np.max(np.abs(est.coef_ / coef_mem - 1))),
            }
        )
        print(rows[-1], flush=True)
    print()
    print(
        "| situations | in memory: fit (s) | passes | s/pass | LocalCluster: first "
        "fit (s) | fit (s) | passes | s/pass | pass ratio | max rel. coef diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:.0e} | {r['mem_fit']:.1f} | {r['mem_passes']} | "
            f"{r['mem_pass']:.2f} | {r['dask_first_fit']:.1f} | "
            f"{r['dask_fit']:.1f} | {r['dask_passes']} | "
            f"{r['dask_pass']:.2f} | {r['dask_pass'] / r['mem_pass']:.2f} | "
            f"{r['max_rel_diff']:.1e} |"
        )


def _warm():
    """A small fit that loads (or compiles) the numba kernel in this process."""
    from skpolicy import SoftmaxChoiceEstimator, config_context

    with config_context(n_threads=1):
        SoftmaxChoiceEstimator().fit(*dense_chunk(0, 30_000))


def _passes_in_memory(X, y):
    """(passes of a fit, seconds per Hessian pass) of the in-memory loss."""
    from skpolicy._data import dense_block
    from skpolicy._linear_loss import LinearChoiceLoss
    from skpolicy._solvers import solve

    loss = LinearChoiceLoss(dense_block(X, y))
    result = solve(loss, np.zeros(K), solver="newton-cholesky", max_iter=100, tol=1e-8)
    t = time.perf_counter()
    for _ in range(3):
        loss.gradient_hessian(result.coef)
    return result.n_passes, (time.perf_counter() - t) / 3


def _dask_pass_time(est, X, y, repeat=3):
    """Seconds per Hessian pass of the persisted Dask loss."""
    from skpolicy._dask import DaskChoiceLoss, _build, _worker_copy

    built = _build(_worker_copy(est), "choice", X, y, persist=True)
    loss = DaskChoiceLoss(built.parts, built.summaries, 0.0, K)
    loss.gradient_hessian(est.coef_)
    t = time.perf_counter()
    for i in range(repeat):
        # A new coef each time: the same one would give the same task keys, whose
        # results the scheduler may still hold.
        loss.gradient_hessian(est.coef_ * (1 + 1e-9 * (i + 1)))
    return (time.perf_counter() - t) / repeat


def long_chunk(seed, start, n):
    """One Parquet partition: situations start..start+n-1 in the long format."""
    import pandas as pd

    X, y = dense_chunk(seed, n)
    frame = pd.DataFrame(X.reshape(n * J, K), columns=[f"x{k}" for k in range(K)])
    frame.insert(0, "situation", np.repeat(np.arange(start, start + n), J))
    frame["choice"] = (np.tile(np.arange(J), n) == np.repeat(y, J)).astype(np.int8)
    return frame


def ooc(n, directory):
    import dask
    import dask.dataframe as dd

    from skpolicy import SoftmaxChoiceEstimator
    from skpolicy._dask import last_fit

    path = Path(directory) / "bench_dask_long.parquet"
    free = shutil.disk_usage(Path(directory)).free
    need = n * J * (K * 4 + 9) * 1.05
    if need > 0.8 * free:
        raise SystemExit(f"needs ~{need / 1e9:.0f} GB, {free / 1e9:.0f} GB free")
    try:
        chunks = _sizes(n)
        starts = np.cumsum([0, *chunks[:-1]])
        t = time.perf_counter()
        meta = long_chunk(0, 0, 1).iloc[:0]
        parts = [
            dask.delayed(long_chunk)(i, int(s), c)
            for i, (s, c) in enumerate(zip(starts, chunks, strict=True))
        ]
        with dask.config.set(scheduler="threads", num_workers=2):
            dd.from_delayed(parts, meta=meta).to_parquet(
                path, write_index=False, compression=None
            )
        t_write = time.perf_counter() - t
        on_disk = sum(f.stat().st_size for f in path.rglob("*.parquet"))
        print(f"wrote {on_disk / 1e9:.2f} GB in {t_write:.0f} s", flush=True)
        frame = dd.read_parquet(path)
        X = frame[["situation", *[f"x{k}" for k in range(K)]]]
        y = frame["choice"]
        _warm()  # load numba's compiled kernel before timing
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        times = []
        with dask.config.set(
            {"skpolicy.persist": False, "scheduler": "threads", "num_workers": 2}
        ):
            import skpolicy._dask as sd

            original = sd.DaskChoiceLoss.sums

            def timed(self, coef, hessian=False):
                t0 = time.perf_counter()
                out = original(self, coef, hessian)
                times.append(time.perf_counter() - t0)
                return out

            sd.DaskChoiceLoss.sums = timed
            try:
                t = time.perf_counter()
                est = SoftmaxChoiceEstimator(situation_key="situation").fit(X, y)
                t_fit = time.perf_counter() - t
            finally:
                sd.DaskChoiceLoss.sums = original
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"situations {n:.0e}, rows {n * J:.0e}, {on_disk / 1e9:.2f} GB on disk\n"
            f"fit {t_fit:.0f} s: {last_fit['n_passes']} passes, "
            f"{len(times)} timed; validation + checks {t_fit - sum(times):.0f} s\n"
            f"per pass: median {np.median(times):.1f} s "
            f"({on_disk / 1e6 / np.median(times):.0f} MB/s), min {min(times):.1f} s, "
            f"max {max(times):.1f} s\n"
            f"peak RSS {peak:.2f} GB (before the fit {rss0:.2f} GB)\n"
            f"coef {np.round(est.coef_, 3)} (true {np.round(COEF, 3)})"
        )
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("overhead")
    p.add_argument("--sizes", default="1000000,10000000")
    p.add_argument(
        "--engine",
        default="auto",
        help="skpolicy engine for both fits (the client's setting reaches the tasks)",
    )
    p = sub.add_parser("ooc")
    p.add_argument("--situations", type=int, default=10_000_000)
    p.add_argument("--dir", default="/work/tmp_bench")
    args = parser.parse_args()
    if args.what == "overhead":
        import skpolicy

        skpolicy.set_config(engine=args.engine)
        overhead([int(float(s)) for s in args.sizes.split(",")])
    else:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        ooc(args.situations, args.dir)


if __name__ == "__main__":
    main()
