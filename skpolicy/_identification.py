"""Identification diagnostics from the Hessian at coef = 0 and at the estimate.

With ``alpha = 0`` two things keep the maximum-likelihood estimate from being
unique and finite (DESIGN.md section 6):

- **collinear features**: a combination of features is constant within every
  situation, so the Hessian is singular for *every* coef (at 0 in particular);
- **separation**: along some direction ``d`` the chosen alternatives are never
  worse than the others, so the likelihood keeps increasing as ``coef`` moves along
  ``d``; the curvature along ``d`` then collapses as the solver runs away.

Both read off two K x K matrices the Newton solver computes anyway: ``H0``, the
Hessian at ``coef = 0`` (equal probabilities: it measures how much each direction
varies within situations) and ``H``, the Hessian at the estimate. The generalised
eigenvalues of ``(H, H0)`` are the shares of information left at the estimate; a
legitimate fit keeps a sizeable share in every direction (it is the mean of
``p (1 - p)``-like terms), a separated one keeps almost none.

Both judgements must not depend on the units of the features: multiplying a
feature by ``c`` multiplies its row and column of ``H0`` and ``H`` by ``c``, which
moves the eigenvalues of ``H0`` by up to ``c**2`` and makes a well-identified
feature in small units look like a null direction. Everything is therefore done on
the matrices scaled by ``D = diag(H0)**-1/2`` on both sides (``H0`` becomes a
correlation matrix, unit-free); the generalised eigenvalues of ``(H, H0)`` are
unchanged by that congruence.
"""

import warnings

import numpy as np
import scipy.linalg

from ._data import user_stacklevel
from ._engines import blas_controller
from .exceptions import CollinearityWarning, SeparationWarning

# Eigenvalues of H0 below this fraction of the largest are a null space.
_NULL = 1e-10
# Share of information at the estimate below which the direction is separated.
_SEPARATED = 1e-6


def _direction_names(vector, names, share=0.1):
    weights = np.abs(vector) / np.abs(vector).max()
    return [str(names[k]) for k in np.flatnonzero(weights >= share)]


def check_identification(hessian_zero, hessian_hat, feature_names):
    """Warn about collinear features and separated choices (see below)."""
    # K x K eigen-decompositions: single-threaded BLAS (OpenBLAS's threads took
    # 10-560 ms instead of 1 ms for 99 x 99 on a busy machine, measured).
    with blas_controller().limit(limits=1, user_api="blas"):
        return _check_identification(hessian_zero, hessian_hat, feature_names)


def _check_identification(hessian_zero, hessian_hat, feature_names):
    """Warn about collinear features and separated (perfectly predicted) choices.

    Parameters
    ----------
    hessian_zero : ndarray of shape (n_features, n_features)
        Hessian of the unpenalised objective at ``coef = 0``.
    hessian_hat : ndarray of shape (n_features, n_features)
        Hessian of the unpenalised objective at the estimate.
    feature_names : array-like of shape (n_features,)

    Returns
    -------
    info_share : float
        Smallest generalised eigenvalue of ``(hessian_hat, hessian_zero)`` on the
        identified directions (1 when every direction is null).
    """
    hessian_zero = np.asarray(hessian_zero, dtype=np.float64)
    hessian_hat = np.asarray(hessian_hat, dtype=np.float64)
    # Unit-free matrices (see the module docstring). A feature without variation
    # within situations (zero diagonal; the estimator refuses those before this
    # runs) keeps a zero row and column: a null direction of its own.
    diagonal = np.diag(hessian_zero)
    varies = diagonal > 0
    scale = np.zeros_like(diagonal)
    scale[varies] = 1.0 / np.sqrt(diagonal[varies])
    h0 = hessian_zero * scale[:, None] * scale[None, :]
    h = hessian_hat * scale[:, None] * scale[None, :]
    evals, evecs = scipy.linalg.eigh(h0)
    top = max(evals.max(), 0.0)
    null = evals <= _NULL * top
    if null.any():
        # The weights of a null vector are those of the standardised features,
        # so a small weight means a small role, whatever the units.
        groups = [_direction_names(v, feature_names) for v in evecs[:, null].T]
        warnings.warn(
            "features are collinear within situations: "
            + "; ".join(f"a combination of {g}" for g in groups)
            + " is constant within every situation, so coef_ is not identified in "
            "that direction (a full set of alternative-specific constants does this: "
            "drop one as the reference). Set alpha > 0 or drop a feature.",
            CollinearityWarning,
            stacklevel=user_stacklevel(),
        )
    if null.all():
        return 1.0
    # Whiten with H0 on its range, then the eigenvalues of H are information shares.
    basis = evecs[:, ~null] / np.sqrt(evals[~null])
    shares, vectors = scipy.linalg.eigh(basis.T @ h @ basis)
    if shares[0] < _SEPARATED:
        direction = basis @ vectors[:, 0]
        warnings.warn(
            "the choices are (almost) perfectly predicted along a direction of the "
            f"coefficients involving {_direction_names(direction, feature_names)}: "
            f"the information left there is {max(shares[0], 0):.1e} of its value at "
            "coef = 0, so the maximum likelihood estimate does not exist (complete "
            "or quasi-complete separation) and coef_ grows as tol shrinks. Set "
            "alpha > 0 for a finite, penalised estimate, or remove the feature(s) "
            "that separate the choices.",
            SeparationWarning,
            stacklevel=user_stacklevel(),
        )
    return float(shares[0])
