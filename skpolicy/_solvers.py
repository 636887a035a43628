"""Solvers: drive ``scipy.optimize.minimize`` with the kernel's analytic derivatives.

Every solver minimises the normalised objective of :class:`LinearChoiceLoss` and
stops on the same criterion, ``max_i |grad_i| <= tol`` (checked in a callback that
reads the memoised gradient, so the criterion costs nothing and is identical for
every method). Loss, gradient and Hessian at an iterate come from one pass over the
data and are shared between scipy's ``fun``, ``jac`` and ``hess`` callbacks.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import OptimizeResult, minimize
from sklearn.exceptions import ConvergenceWarning


def _minimize_newton_cholesky(
    fun, x0, args=(), jac=None, hess=None, callback=None, maxiter=100, **_
):
    """Damped Newton method with the exact Hessian, as a ``minimize`` method.

    Passed to ``scipy.optimize.minimize(method=...)`` as a callable. Each iteration
    solves ``H d = -g`` by Cholesky (minimum-norm least squares if H is singular,
    as with collinear features and alpha = 0) and backtracks along ``d`` until the
    Armijo condition holds. Near the optimum the change of the objective falls
    below its rounding error, which makes scipy's trust-region methods reject good
    steps; like scikit-learn's Newton solvers, a step whose objective change is
    within rounding is accepted when it reduces ``sum |grad|``.
    """
    x = np.array(x0, dtype=float)
    f, g = fun(x), jac(x)
    tiny = 16 * np.finfo(float).eps
    nit, status, message = 0, 1, "maximum number of iterations reached"
    while nit < maxiter:
        d = _newton_direction(hess(x), g)
        slope = g @ d
        if not slope < 0:  # not a descent direction (rounding): steepest descent
            d, slope = -g, -(g @ g)
        step = 1.0
        for _ in range(40):
            x_new = x + step * d
            f_new = fun(x_new)
            if f_new <= f + 1e-4 * step * slope:
                break
            if abs(f_new - f) <= tiny * abs(f) and (
                np.abs(jac(x_new)).sum() < np.abs(g).sum()
            ):
                break
            step *= 0.5
        else:
            status, message = (
                2,
                (
                    "line search found no decrease along the Newton direction; the "
                    "tolerance is probably below the precision of the objective"
                ),
            )
            break
        x, f, g = x_new, f_new, jac(x_new)
        nit += 1
        if callback is not None:
            try:
                callback(OptimizeResult(x=x, fun=f))
            except StopIteration:
                status, message = 0, "stopped by the tolerance on the gradient"
                break
    return OptimizeResult(
        x=x, fun=f, jac=g, nit=nit, status=status, success=status == 0, message=message
    )


def _newton_direction(H, g):
    # Cholesky when H is safely positive definite; otherwise (collinear features
    # with alpha = 0) the minimum-norm solution, which leaves the unidentified
    # directions alone.
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            return scipy.linalg.solve(H, -g, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgWarning):
            pass
    return scipy.linalg.lstsq(H, -g)[0]


# solver name -> (method for scipy.optimize.minimize, uses the Hessian). scipy's
# "Newton-CG" is left out on purpose: its inner CG stops once p'Hp <= 3 eps in
# absolute terms, which halts it near max|grad| ~ 1e-8 on a normalised objective.
SOLVERS = {
    "newton-cholesky": (_minimize_newton_cholesky, True),
    "lbfgs": ("L-BFGS-B", False),
    "trust-exact": ("trust-exact", True),
    "trust-ncg": ("trust-ncg", True),
    "trust-krylov": ("trust-krylov", True),
}

# "auto" prefers exact Newton steps while the K x K Hessian is cheap next to a pass
# over the data; beyond this many features it switches to L-BFGS.
_AUTO_MAX_FEATURES_NEWTON = 500


def resolve_solver(solver, n_features):
    """Name of the solver that ``solver`` stands for (resolves ``"auto"``)."""
    if solver != "auto":
        return solver
    return "newton-cholesky" if n_features <= _AUTO_MAX_FEATURES_NEWTON else "lbfgs"


class _Objective:
    """Memoised objective: one kernel pass per distinct iterate."""

    def __init__(self, loss, hessian):
        self.loss = loss
        self.hessian = hessian
        self.x = None
        self.H = None
        self.n_passes = 0
        # The first Hessian computed (at the start point, for Newton methods).
        self.first_hessian = None

    def evaluate(self, x, hessian=None):
        hessian = self.hessian if hessian is None else hessian
        stale = self.x is None or not np.array_equal(x, self.x)
        if stale or (hessian and self.H is None):
            if hessian:
                self.f, self.g, self.H = self.loss.gradient_hessian(x)
                if self.first_hessian is None:
                    self.first_hessian = (np.array(x, dtype=np.float64), self.H)
            else:
                (self.f, self.g), self.H = self.loss.loss_gradient(x), None
            self.x = np.array(x, dtype=np.float64, copy=True)
            self.n_passes += 1
        return self

    def fun(self, x):
        return self.evaluate(x).f

    def jac(self, x):
        return self.evaluate(x).g

    def hess(self, x):
        return self.evaluate(x, hessian=True).H


@dataclass
class SolverResult:
    """What a solve returns.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    n_iter : int
    converged : bool
    objective : float
        Penalised normalised objective at ``coef``.
    gradient : ndarray of shape (n_features,)
    hessian : ndarray of shape (n_features, n_features)
        Hessian of the objective at ``coef`` (computed at the end if the solver
        did not).
    first_hessian : tuple (coef, ndarray) or None
        The first Hessian the solver computed and where (usually at ``coef0``).
    message : str
    n_passes : int
        Passes over the data.
    """

    coef: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    gradient: np.ndarray
    hessian: np.ndarray
    first_hessian: tuple | None
    message: str
    n_passes: int


def solve(loss, coef0, *, solver, max_iter, tol, verbose=0):
    """Minimise ``loss`` from ``coef0`` with the named solver.

    Parameters
    ----------
    loss : LinearChoiceLoss
    coef0 : ndarray of shape (n_features,)
    solver : str
        A key of :data:`SOLVERS`.
    max_iter : int
    tol : float
        Stop when ``max_i |grad_i| <= tol``.
    verbose : int
        Print one line per iteration when > 0.

    Returns
    -------
    SolverResult
    """
    method, use_hessian = SOLVERS[solver]
    objective = _Objective(loss, use_hessian)
    x0 = np.asarray(coef0, dtype=np.float64)
    n_iter = [0]

    def done(x):
        return np.max(np.abs(objective.evaluate(x).g), initial=0.0) <= tol

    def callback(intermediate_result):
        n_iter[0] += 1
        x = intermediate_result.x
        if verbose:
            ev = objective.evaluate(x)
            print(
                f"[{solver}] iter {n_iter[0]:3d}  objective {ev.f:.12g}  "
                f"max|grad| {np.max(np.abs(ev.g), initial=0.0):.3e}"
            )
        if done(x):
            raise StopIteration

    if max_iter == 0 or done(x0):
        x, message = (
            x0,
            "initial point satisfies the tolerance" if done(x0) else "max_iter=0",
        )
    else:
        result = minimize(
            objective.fun,
            x0,
            jac=objective.jac,
            hess=objective.hess if use_hessian else None,
            method=method,
            callback=callback,
            options=_options(method, max_iter, tol),
        )
        x, message = result.x, str(result.message)
    ev = objective.evaluate(x, hessian=True)
    converged = bool(np.max(np.abs(ev.g), initial=0.0) <= tol)
    if not converged:
        warnings.warn(
            f"solver {solver!r} did not reach max|gradient| <= tol={tol:g} in "
            f"{n_iter[0]} iteration(s) (max|gradient| = "
            f"{np.max(np.abs(ev.g)):.3g}; scipy says: {message}). Increase max_iter, "
            "scale the features, try another solver, or set alpha > 0.",
            ConvergenceWarning,
            stacklevel=4,
        )
    return SolverResult(
        coef=np.array(x, copy=True),
        n_iter=n_iter[0],
        converged=converged,
        objective=float(ev.f),
        gradient=ev.g.copy(),
        hessian=ev.H.copy(),
        first_hessian=objective.first_hessian,
        message=message,
        n_passes=objective.n_passes,
    )


def _options(method, max_iter, tol):
    # scipy's own stopping rules are set so tight that ours (in the callback)
    # decides; they remain as safeguards against stagnation.
    if callable(method):
        return {"maxiter": max_iter}
    if method == "L-BFGS-B":
        return {
            "maxiter": max_iter,
            "maxfun": 10 * max_iter + 20,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
            "maxls": 50,
        }
    return {"maxiter": max_iter, "gtol": min(tol, 1e-12) * 1e-2}
