import numpy as np
import pandas as pd
import pytest

from skpolicy.datasets import make_choice_data


def dense_to_long(X, y=None, sample_weight=None, alternatives=None):
    """Long DataFrame (available rows only) and per-row y / weights from dense data.

    An independent, loop-free reference conversion used to check long == dense.
    """
    n, J, K = X.shape
    available = ~np.isnan(X).all(axis=2)
    s, a = np.nonzero(available)
    labels = np.arange(J) if alternatives is None else np.asarray(alternatives)
    index = pd.MultiIndex.from_arrays(
        [s, labels[a]], names=["situation", "alternative"]
    )
    frame = pd.DataFrame(X[s, a], index=index, columns=[f"x{k}" for k in range(K)])
    out = [frame]
    if y is not None:
        y = np.asarray(y)
        counts = y if y.ndim == 2 else (np.arange(J) == y[:, None]).astype(float)
        out.append(counts[s, a])
    if sample_weight is not None:
        out.append(np.asarray(sample_weight, dtype=float)[s])
    return tuple(out) if len(out) > 1 else frame


@pytest.fixture
def to_long():
    """The reference dense -> long conversion, as a fixture."""
    return dense_to_long


@pytest.fixture
def ragged_weighted_counts():
    """Ragged dense data with choice counts and situation weights."""
    rng = np.random.default_rng(7)
    X, y = make_choice_data(60, 5, 3, unavailable=0.3, random_state=1)
    available = ~np.isnan(X).all(axis=2)
    counts = rng.integers(0, 3, size=y.shape + (5,)) * available
    counts[np.arange(60), y] += 1
    weights = rng.uniform(0.2, 3.0, size=60)
    return X, counts.astype(float), weights
