#!/usr/bin/env bash
# Create the virtual environments of the peer benchmark, outside the repository.
#
#   bash benchmarks/peers/setup_envs.sh            # all three environments
#   bash benchmarks/peers/setup_envs.sh main tf    # only some of them
#
# BENCH_ENVS (default /work/bench-envs) is where they go. Each environment gets the
# top-level pins below; the full set of versions resolved when the table in
# benchmarks/README.md was measured is in lock-<env>.txt beside this script and is
# applied as a pip constraint file, so a rerun installs the same versions.
#
#   main  Python 3.11: skpolicy (editable, from this repository), the numpy
#         references, statsmodels, xlogit, biogeme, larch (JAX and numba), torch-choice
#   py39  Python 3.9:  pylogit (needs `collections.Iterable` and `np.in1d`)
#   tf    Python 3.11: choice-learn (tensorflow pins h5py<3.15, biogeme needs >=3.15.1)
#
# torch is pinned to 2.13.0, whose CPU wheel lies on this machine's disk: a looser
# requirement would make pip download a CUDA build of several GB.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ENVS="${BENCH_ENVS:-/work/bench-envs}"
PY311="${PY311:-$HOME/.pyenv/versions/3.11.7/bin/python}"
PY39="${PY39:-$HOME/.pyenv/versions/3.9.18/bin/python}"

make_env() {  # make_env NAME PYTHON PIP-ARGS...
    local name="$1" python="$2"
    shift 2
    local env="$ENVS/$name" lock="$HERE/lock-$name.txt"
    echo "=== $env ($("$python" -V))"
    [ -x "$env/bin/python" ] || "$python" -m venv "$env"
    "$env/bin/python" -m pip install --quiet --upgrade "pip==25.3" "setuptools<81" wheel
    local constraint=()
    [ -f "$lock" ] && constraint=(-c "$lock")
    "$env/bin/python" -m pip install "${constraint[@]}" "$@"
    "$env/bin/python" -m pip freeze --exclude-editable | sort -f > "$ENVS/$name.freeze.txt"
    [ -f "$lock" ] || cp "$ENVS/$name.freeze.txt" "$lock"
}

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(main py39 tf)
mkdir -p "$ENVS"
for name in "${wanted[@]}"; do
    case "$name" in
    main)
        make_env main "$PY311" \
            "numpy==2.4.6" "torch==2.13.0" "torch-choice==1.0.6" \
            "statsmodels==0.15.0" "xlogit==0.2.7" "biogeme==3.3.2" "larch==6.0.46" \
            "threadpoolctl==3.8.0" -e "$REPO"
        ;;
    py39)
        make_env py39 "$PY39" \
            "pylogit==1.0.1" "numpy==1.24.4" "pandas==1.5.3" "scipy==1.11.4"
        ;;
    tf)
        make_env tf "$PY311" \
            "choice-learn==1.3.3" "tensorflow==2.21.0" "tensorflow-probability==0.25.0" \
            "tf_keras==2.21.0"
        ;;
    *)
        echo "unknown environment: $name (main, py39, tf)" >&2
        exit 2
        ;;
    esac
done
echo "done: ${wanted[*]} in $ENVS"
