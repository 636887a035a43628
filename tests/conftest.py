import json
from importlib import resources
from pathlib import Path

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


# --------------------------------------------------------------------------------
# Heating: published mlogit results and the data built by hand from the CSV
# --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def published():
    """tests/data/heating_published.json: mlogit's published Heating results."""
    return json.loads(
        (Path(__file__).parent / "data" / "heating_published.json").read_text()
    )


def _published_precision(value):
    """Half a unit in the last printed digit of a published number."""
    text = repr(abs(value))
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** (-decimals)


@pytest.fixture(scope="session")
def published_precision():
    """The tolerance a published number carries, as a function of the number."""
    return _published_precision


@pytest.fixture(scope="session")
def heating_by_hand(published):
    """The shipped wide Heating CSV turned into long format by hand.

    Independent of ``skpolicy.reshape`` and ``load_heating``: a (idcase, alt)
    MultiIndex and the columns ic, oc and chosen (0/1).
    """
    path = resources.files("skpolicy.datasets") / "data" / "heating.csv.gz"
    with resources.as_file(path) as file:
        wide = pd.read_csv(file)
    assert len(wide) == published["data"]["n_rows"]
    frames = [
        pd.DataFrame(
            {
                "idcase": wide["idcase"],
                "alt": alt,
                "ic": wide[f"ic.{alt}"],
                "oc": wide[f"oc.{alt}"],
                "chosen": (wide["depvar"] == alt).astype(int),
            }
        )
        for alt in published["data"]["alternatives"]
    ]
    return pd.concat(frames).set_index(["idcase", "alt"]).sort_index()
