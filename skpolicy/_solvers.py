"""Solvers: drive ``scipy.optimize.minimize`` with the kernel's analytic derivatives.

Every solver minimises the normalised objective of :class:`LinearChoiceLoss` and
stops on the same criterion (checked in a callback that reads the memoised
gradient, so the criterion costs nothing and is identical for every method). Loss,
gradient and Hessian at an iterate come from one pass over the data and are shared
between scipy's ``fun``, ``jac`` and ``hess`` callbacks.

Units. Multiplying a feature by ``c`` divides its coefficient by ``c`` and
multiplies its gradient component by ``c``: a rule ``max_i |grad_i| <= tol`` in the
user's units stops at once (with a wrong estimate) for features in tiny units and
never for huge ones, and scipy's own steps, trust radii and line searches suffer
alike. The solvers therefore work on *standardised coefficients*
``b_i = s_i coef_i`` with ``s_i = sqrt(H0_ii)``, ``H0`` the Hessian of the objective
at ``coef = 0`` (equal shares within each situation: ``H0_ii`` is the weighted
within-situation variance of feature ``i``, plus ``alpha``). The objective as a
function of ``b`` is the same whatever the units of the features, so every solver
takes the same steps and the stopping rule

    max_i |grad_i| / s_i <= tol

(the gradient with respect to ``b``) means the same for every rescaling of the
features. For features already standardised within situations it is the plain
``max_i |grad_i| <= tol``.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import OptimizeResult, minimize
from sklearn.exceptions import ConvergenceWarning

from ._data import user_stacklevel
from ._engines import blas_controller


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

    Once the tolerance is met, one more step is taken with the Hessian at hand
    (that of the previous iterate; see :func:`_final_step`): it costs one
    gradient pass and, Newton's convergence being quadratic there, usually leaves
    a gradient near rounding level rather than just under ``tol``.
    """
    x = np.array(x0, dtype=float)
    f, g = fun(x), jac(x)
    tiny = 16 * np.finfo(float).eps
    nit, status, message = 0, 1, "maximum number of iterations reached"
    while nit < maxiter:
        H = hess(x)
        d = _newton_direction(H, g)
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
                x, f, g = _final_step(fun, jac, H, x, f, g, tiny)
                break
    return OptimizeResult(
        x=x, fun=f, jac=g, nit=nit, status=status, success=status == 0, message=message
    )


def _final_step(fun, jac, H, x, f, g, tiny):
    """A last Newton step from ``x`` with an earlier Hessian ``H``, if it helps.

    ``H`` is the Hessian of the previous iterate, within ``O(|step|)`` of the one at
    ``x``, so the step still shrinks the gradient by about that factor, for the
    price of one gradient pass (a new Hessian would cost a Hessian pass). It is
    kept only if it lowers ``max |grad|`` without raising the objective beyond
    rounding.
    """
    x_new = x + _newton_direction(H, g)
    f_new, g_new = fun(x_new), jac(x_new)
    better = np.max(np.abs(g_new), initial=0.0) < np.max(np.abs(g), initial=0.0)
    if better and f_new <= f + tiny * abs(f):
        return x_new, f_new, g_new
    return x, f, g


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
    """Memoised objective: one kernel pass per distinct iterate.

    :meth:`evaluate` works in the user's coefficients ``coef``; :meth:`fun`,
    :meth:`jac` and :meth:`hess` are what scipy sees, functions of the
    standardised coefficients ``b = scale * coef`` (see the module docstring).
    """

    def __init__(self, loss, hessian):
        self.loss = loss
        self.hessian = hessian
        self.x = None
        self.H = None
        self.n_passes = 0
        # The first Hessian computed (at coef = 0 for the scale, see solve).
        self.first_hessian = None
        self.scale = None

    def evaluate(self, x, hessian=None):
        """Objective ``f``, gradient ``g`` (and Hessian ``H``) at ``coef = x``."""
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

    def criterion(self, x):
        """``max_i |grad_i| / scale_i`` at ``coef = x``: the stopping rule."""
        g = self.evaluate(x).g
        return float(np.max(np.abs(g / self.scale), initial=0.0))

    def coef(self, b):
        return np.asarray(b, dtype=np.float64) / self.scale

    def fun(self, b):
        return self.evaluate(self.coef(b)).f

    def jac(self, b):
        return self.evaluate(self.coef(b)).g / self.scale

    def hess(self, b):
        H = self.evaluate(self.coef(b), hessian=True).H
        return H / np.outer(self.scale, self.scale)


def _curvature_scale(loss, objective, n_params):
    """``sqrt(diag(H0))``: the scale of each coefficient (see the module docstring).

    Taken from the kernel's ``hessian_diagonal`` when it offers one, else from the
    full Hessian at 0 (the Newton solvers need it for their first step from 0
    anyway, and the estimator reuses it for its identification check).
    """
    zeros = np.zeros(n_params)
    diagonal = getattr(loss, "hessian_diagonal", None)
    if diagonal is not None:
        d = np.asarray(diagonal(zeros), dtype=np.float64)
    else:
        d = np.diag(objective.evaluate(zeros, hessian=True).H).copy()
    if not np.all(np.isfinite(d)):
        bad = np.flatnonzero(~np.isfinite(d)).tolist()
        raise ValueError(
            f"the curvature of the objective at coef = 0 overflows for parameter(s) "
            f"{bad}: the features are too large for float64 sums; rescale them"
        )
    # A parameter without curvature (a feature constant within every situation,
    # alpha = 0) has a zero gradient throughout: leave it in the user's units.
    return np.where(d > 0, np.sqrt(np.where(d > 0, d, 1.0)), 1.0)


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
        Stop when ``max_i |grad_i| / s_i <= tol``, where ``s_i = sqrt(H0_ii)``
        and ``H0`` is the Hessian of the objective at ``coef = 0``: the gradient
        with respect to the coefficients of the features standardised within
        situations. Unlike ``max_i |grad_i|``, this does not change when a
        feature is rescaled (see the module docstring); every solver also takes
        its steps in those standardised coefficients.
    verbose : int
        Print one line per iteration when > 0.

    Returns
    -------
    SolverResult
    """
    method, use_hessian = SOLVERS[solver]
    objective = _Objective(loss, use_hessian)
    x0 = np.asarray(coef0, dtype=np.float64)
    objective.scale = _curvature_scale(loss, objective, x0.shape[0])
    n_iter = [0]

    def done(x):
        return objective.criterion(x) <= tol

    def callback(intermediate_result):
        n_iter[0] += 1
        x = objective.coef(intermediate_result.x)
        if verbose:
            print(
                f"[{solver}] iter {n_iter[0]:3d}  objective "
                f"{objective.evaluate(x).f:.12g}  "
                f"max|grad|/scale {objective.criterion(x):.3e}"
            )
        if done(x):
            raise StopIteration

    if max_iter == 0 or done(x0):
        x, message = (
            x0,
            "initial point satisfies the tolerance" if done(x0) else "max_iter=0",
        )
    else:
        # The solver's own linear algebra is on K x K matrices, far too small for
        # BLAS threads; left on, OpenBLAS's spinning threads slowed a 2,000-state
        # L-BFGS fit 3-6 times on a busy 2-core machine (measured). The kernel
        # runs its chunks on its own threads.
        with blas_controller().limit(limits=1, user_api="blas"):
            result = minimize(
                objective.fun,
                x0 * objective.scale,
                jac=objective.jac,
                hess=objective.hess if use_hessian else None,
                method=method,
                callback=callback,
                options=_options(method, max_iter, tol),
            )
        x, message = objective.coef(result.x), str(result.message)
    ev = objective.evaluate(x, hessian=True)
    criterion = objective.criterion(x)
    converged = bool(criterion <= tol)
    if not converged:
        warnings.warn(
            f"solver {solver!r} did not reach max|gradient| <= tol={tol:g} in "
            f"{n_iter[0]} iteration(s) (max|gradient| = {criterion:.3g}, for the "
            "coefficients of the features standardised within situations; scipy "
            f"says: {message}). Increase max_iter, try another solver, or set "
            "alpha > 0.",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
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
    # decides; they remain as safeguards against stagnation. L-BFGS-B's gtol
    # bounds the same quantity as ours: scipy sees the standardised coefficients.
    if callable(method):
        return {"maxiter": max_iter}
    if method == "L-BFGS-B":
        return {
            "maxiter": max_iter,
            "maxfun": 10 * max_iter + 20,
            "gtol": tol,
            # The relative-reduction test stops L-BFGS-B as soon as the change of
            # the objective drowns in rounding, usually before the gradient
            # reaches a small tol; without it, a line search that finds no
            # decrease ends the run instead.
            "ftol": 0.0,
            "maxls": 50,
        }
    return {"maxiter": max_iter, "gtol": min(tol, 1e-12) * 1e-2}
