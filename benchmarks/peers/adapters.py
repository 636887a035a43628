"""Adapters: fit the same conditional logit with skpolicy and with each peer.

The model everywhere: K generic coefficients (one per feature, shared by all
alternatives), no alternative-specific constants, unavailable alternatives excluded
from the choice set, start at θ = 0, maximum likelihood (no penalty).

Each adapter is a pair of functions of the data dict from ``datagen.load``:

- ``convert(data) -> state``: puts the data into the peer's own format (timed
  separately as ``convert_s``);
- ``fit(state) -> dict``: fits from θ = 0 (timed as ``fit_s``) and returns ``coef``
  (length K, in feature order), ``n_iter`` (None when the peer does not say),
  ``loglik_reported`` (the peer's own figure, None if none), ``converged`` and
  ``message``.

``fit`` may be called several times on one state (best-of-R timing), so it builds a
fresh model each time. Peer libraries are imported inside the functions: each
environment has only some of them. The file runs on Python 3.9 (pylogit's
environment), so it avoids newer syntax.
"""

from __future__ import annotations

import time

import numpy as np

# ----------------------------------------------------------------------------------
# shared helpers


def _long_arrays(data, keep_unavailable=False):
    """Long arrays: situation id, alternative id, features (rows, K), chosen 0/1, avail.

    With ``keep_unavailable`` every (situation, alternative) pair gets a row (balanced
    panel, features of unavailable rows set to 0), otherwise only available rows.
    """
    X, y, avail = data["X"], data["y"], data["avail"]
    n, J, K = X.shape
    if keep_unavailable:
        sit = np.repeat(np.arange(n), J)
        alt = np.tile(np.arange(J), n)
        feats = np.nan_to_num(X.reshape(n * J, K), nan=0.0)
        av = avail.reshape(-1)
    else:
        sit, alt = np.nonzero(avail)
        feats = X[sit, alt]
        av = np.ones(sit.shape[0], dtype=bool)
    chosen = (y[sit] == alt).astype(np.int64)
    return sit, alt, feats, chosen, av


def _warm(*modules):
    """Import the modules a fit needs, so that import time counts in neither timing."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def _feature_names(K):
    return [f"x{k}" for k in range(K)]


def _result(coef, n_iter=None, loglik=None, converged=None, message="", **extra):
    out = {
        "coef": [float(c) for c in np.asarray(coef, dtype=float).ravel()],
        "n_iter": None if n_iter is None else int(n_iter),
        "loglik_reported": None if loglik is None else float(loglik),
        "converged": None if converged is None else bool(converged),
        "message": str(message)[:300],
    }
    out.update(extra)
    return out


# ----------------------------------------------------------------------------------
# skpolicy


def skpolicy_version():
    import skpolicy

    _warm("pandas", "skpolicy._estimator")
    return f"skpolicy {skpolicy.__version__} (source {_source_hash(skpolicy)})"


def _source_hash(package):
    """Short hash of a package's .py files: which code was timed, in a shared tree."""
    import hashlib
    import os

    root = os.path.dirname(package.__file__)
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:10]


def skpolicy_convert_dense(data):
    """Dense input is skpolicy's native format: the (n, J, K) array with NaN rows."""
    return data["X"], data["y"]


def skpolicy_convert_long(data):
    """Long DataFrame: one row per available pair, (situation, alternative) index."""
    import pandas as pd

    sit, alt, feats, chosen, _ = _long_arrays(data)
    index = pd.MultiIndex.from_arrays([sit, alt], names=["situation", "alternative"])
    frame = pd.DataFrame(feats, index=index, columns=_feature_names(feats.shape[1]))
    return frame, chosen


def _skpolicy_engine():
    """skpolicy's engine setting, where this version has one, and numba's presence."""
    import importlib.util

    import skpolicy

    get_config = getattr(skpolicy, "get_config", None)
    engine = get_config().get("engine", "?") if get_config else "n/a"
    numba = importlib.util.find_spec("numba") is not None
    return f"engine={engine}, numba {'installed' if numba else 'not installed'}"


def skpolicy_fit(state):
    """``SoftmaxChoiceEstimator()`` with its defaults (solver="auto", tol=1e-8).

    The estimator's own validation and conversion into its canonical block happen in
    ``fit``, so they count in fit_s, as they would for a user. skpolicy's global
    configuration is left as it is: its default engine ("auto") uses its optional
    numba kernel when numba is installed, as it is in the ``main`` environment
    (larch needs it), and its first fit in a process then includes the compilation.
    """
    from skpolicy import SoftmaxChoiceEstimator

    X, y = state
    est = SoftmaxChoiceEstimator().fit(X, y)
    return _result(
        est.coef_,
        est.n_iter_,
        getattr(est, "log_likelihood_", None),
        getattr(est, "converged_", None),
        f"solver_={getattr(est, 'solver_', '?')}, {_skpolicy_engine()}",
    )


def skpolicy_numpy_fit(state):
    """As ``skpolicy_fit``, inside ``skpolicy.config_context(engine="numpy")``.

    The numpy reference engine, i.e. skpolicy without its optional compiled kernel.
    Fails on a skpolicy version without the engine setting.
    """
    import skpolicy

    if not hasattr(skpolicy, "config_context"):
        raise RuntimeError("this skpolicy has no engine setting (config_context)")
    with skpolicy.config_context(engine="numpy"):
        return skpolicy_fit(state)


# ----------------------------------------------------------------------------------
# numpy / scipy references


def numpy_version():
    import scipy

    _warm("scipy.optimize")
    return f"numpy {np.__version__} / scipy {scipy.__version__}"


class _DenseNLL:
    """Mean negative log-likelihood of the dense data, with gradient and Hessian.

    Plain numpy on the zero-filled (n, J, K) array; unavailable alternatives get
    utility -inf. Values for the last θ are cached so that scipy's separate
    ``fun``/``jac``/``hess`` callbacks cost one pass over the data per iterate.
    """

    def __init__(self, Xz, y, avail):
        self.X, self.y, self.avail = Xz, y, avail
        self.n = Xz.shape[0]
        self.rows = np.arange(self.n)
        self._theta = None
        self.n_eval = 0

    def _update(self, theta):
        if self._theta is not None and np.array_equal(theta, self._theta):
            return
        self.n_eval += 1
        u = np.where(self.avail, self.X @ theta, -np.inf)
        umax = u.max(axis=1, keepdims=True)
        e = np.exp(u - umax)
        s = e.sum(axis=1, keepdims=True)
        P = e / s
        lse = (umax + np.log(s))[:, 0]
        self.f = -(u[self.rows, self.y] - lse).sum() / self.n
        xbar = np.einsum("sj,sjk->sk", P, self.X)
        self.g = (xbar.sum(axis=0) - self.X[self.rows, self.y].sum(axis=0)) / self.n
        self.P, self.xbar = P, xbar
        self._H = None
        self._theta = theta.copy()

    def fun(self, theta):
        self._update(theta)
        return self.f

    def fun_and_grad(self, theta):
        self._update(theta)
        return self.f, self.g

    def grad(self, theta):
        self._update(theta)
        return self.g

    def hess(self, theta):
        self._update(theta)
        if self._H is None:
            XP = self.X * self.P[:, :, None]
            H = np.einsum("sjk,sjl->kl", XP, self.X) - self.xbar.T @ self.xbar
            self._H = H / self.n
        return self._H


def numpy_convert(data):
    """Zero-filled copy of X (NaN → 0) plus the availability mask."""
    return np.nan_to_num(data["X"], nan=0.0), data["y"], data["avail"]


def numpy_lbfgs_fit(state):
    """``scipy.optimize.minimize(method="L-BFGS-B")``, analytic gradient, mean NLL.

    gtol 1e-9, ftol 1e-15, maxiter 1000, from θ = 0.
    """
    from scipy.optimize import minimize

    Xz, y, avail = state
    nll = _DenseNLL(Xz, y, avail)
    K = Xz.shape[2]
    res = minimize(
        nll.fun_and_grad,
        np.zeros(K),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-9, "ftol": 1e-15, "maxiter": 1000},
    )
    return _result(
        res.x, res.nit, -res.fun * nll.n, res.success, res.message, n_eval=nll.n_eval
    )


def numpy_trust_exact_fit(state):
    """``scipy.optimize.minimize(method="trust-exact")``, analytic gradient and Hessian.

    gtol 1e-8 on the mean NLL, from θ = 0.
    """
    from scipy.optimize import minimize

    Xz, y, avail = state
    nll = _DenseNLL(Xz, y, avail)
    K = Xz.shape[2]
    res = minimize(
        nll.fun,
        np.zeros(K),
        jac=nll.grad,
        hess=nll.hess,
        method="trust-exact",
        options={"gtol": 1e-8, "maxiter": 1000},
    )
    return _result(
        res.x, res.nit, -res.fun * nll.n, res.success, res.message, n_eval=nll.n_eval
    )


# ----------------------------------------------------------------------------------
# statsmodels


def statsmodels_version():
    import statsmodels

    _warm("statsmodels.discrete.conditional_models", "statsmodels.base.model")
    return f"statsmodels {statsmodels.__version__}"


def statsmodels_convert(data):
    """``ConditionalLogit(endog, exog, groups)`` on the long table of available rows.

    The constructor splits the data into groups with a Python loop over the rows; that
    loop is part of building the model, so it counts here and not in the fit.
    """
    from statsmodels.discrete.conditional_models import ConditionalLogit

    sit, _, feats, chosen, _ = _long_arrays(data)
    return ConditionalLogit(chosen, feats, groups=sit)


def statsmodels_fit(model):
    """Default BFGS (gtol 1e-5 on the mean log-likelihood, maxiter 100), no Hessian.

    ``ConditionalLogit.fit`` throws away ``mle_retvals``, so this calls
    ``LikelihoodModel.fit`` directly with the same arguments, plus a callback that
    counts the iterations (scipy's fmin_bfgs does not return them).
    Caveat: the log-likelihood loops over the groups in Python, so time grows with n.
    """
    from statsmodels.base.model import LikelihoodModel

    K = model.k_params
    iterations = []
    res = LikelihoodModel.fit(
        model,
        start_params=np.zeros(K),
        method="bfgs",
        maxiter=100,
        full_output=True,
        disp=False,
        skip_hessian=True,
        callback=iterations.append,  # BFGS calls it once per iteration
    )
    r = res.mle_retvals
    nobs = model.endog.shape[0]  # LikelihoodModel.fit minimises -loglike / nobs
    return _result(
        res.params,
        len(iterations),
        -r["fopt"] * nobs,
        r.get("converged"),
        n_eval=r.get("fcalls"),
    )


# ----------------------------------------------------------------------------------
# xlogit


def xlogit_version():
    import xlogit

    _warm("xlogit.multinomial_logit")
    return f"xlogit {getattr(xlogit, '__version__', _dist_version('xlogit'))}"


def _dist_version(name):
    from importlib.metadata import version

    return version(name)


def xlogit_convert(data):
    """Balanced long arrays: all n·J rows (unavailable ones zero-filled) + ``avail``.

    xlogit needs every (situation, alternative) row, even for ragged choice sets.
    """
    sit, alt, feats, chosen, av = _long_arrays(data, keep_unavailable=True)
    return feats, chosen, sit, alt, av.astype(np.float64)


def xlogit_fit(state):
    """``MultinomialLogit().fit(..., fit_intercept=False, skip_std_errs=True)``.

    Its own BFGS with the analytic gradient (the default), ftol 1e-10, maxiter 2000,
    θ = 0 start (its default). CPU mode (no cupy). Its own reshaping and the
    chosen-minus-other differences are computed inside ``fit``.
    """
    from xlogit import MultinomialLogit

    feats, chosen, sit, alt, av = state
    K = feats.shape[1]
    model = MultinomialLogit()
    model.fit(
        X=feats,
        y=chosen,
        varnames=_feature_names(K),
        alts=alt,
        ids=sit,
        avail=av,
        fit_intercept=False,
        skip_std_errs=True,
        verbose=0,
    )
    return _result(
        model.coeff_, model.total_iter, model.loglikelihood, model.convergence
    )


# ----------------------------------------------------------------------------------
# pylogit (Python 3.9, numpy < 2)


def pylogit_version():
    import pylogit

    _warm("pandas")
    return f"pylogit {pylogit.__version__} (numpy {np.__version__})"


def pylogit_convert(data):
    """``create_choice_model`` on the long DataFrame of available rows.

    One generic coefficient per feature (specification ``"all_same"``). pylogit builds
    its sparse design and mapping matrices here.
    """
    from collections import OrderedDict

    import pandas as pd
    import pylogit

    sit, alt, feats, chosen, _ = _long_arrays(data)
    K = feats.shape[1]
    names = _feature_names(K)
    frame = pd.DataFrame(feats, columns=names)
    frame["obs_id"] = sit + 1
    frame["alt_id"] = alt + 1
    frame["choice"] = chosen
    spec = OrderedDict((name, "all_same") for name in names)
    model = pylogit.create_choice_model(
        data=frame,
        alt_id_col="alt_id",
        obs_id_col="obs_id",
        choice_col="choice",
        specification=spec,
        model_type="MNL",
        names=OrderedDict((name, name) for name in names),
    )
    return model, K


def pylogit_fit(state):
    """``fit_mle(θ=0, method="BFGS", just_point=True)``: scipy BFGS, no standard errors.

    pylogit's defaults: loss_tol 1e-6, gradient_tol 1e-6 on the summed
    log-likelihood, maxiter 1000. scipy often ends with "precision loss" at these
    tolerances, yet at the optimum.
    """
    model, K = state
    res = model.fit_mle(np.zeros(K), print_res=False, method="BFGS", just_point=True)
    return _result(
        res["x"], res.get("nit"), -res["fun"], res.get("success"), res.get("message")
    )


# ----------------------------------------------------------------------------------
# biogeme


def biogeme_version():
    import biogeme.version

    _warm(
        "pandas",
        "biogeme.biogeme",
        "biogeme.database",
        "biogeme.expressions",
        "biogeme.models",
        "biogeme.parameters",
    )
    return f"biogeme {biogeme.version.get_version()}"


def biogeme_convert(data):
    """Wide DataFrame ``x{k}_{j}`` (unavailable zero-filled), ``av_j``, ``choice``."""
    import pandas as pd
    from biogeme.database import Database

    X, y, avail = data["X"], data["y"], data["avail"]
    n, J, K = X.shape
    cols = {}
    Xz = np.nan_to_num(X, nan=0.0)
    for j in range(J):
        for k in range(K):
            cols[f"x{k}_{j}"] = Xz[:, j, k]
        cols[f"av_{j}"] = avail[:, j].astype(np.float64)
    cols["choice"] = y.astype(np.float64)
    return Database("bench", pd.DataFrame(cols)), J, K


def biogeme_fit(state):
    """``BIOGEME(db, loglogit(V, av, choice)).quick_estimate()``, default algorithm.

    The default "automatic" algorithm is a trust-region Newton with the analytic
    Hessian (JAX, float64). The expressions and the BIOGEME object are built here, so
    JAX's compilation counts in the fit (a repeat in the same process is warm). A
    ``Parameters()`` object is passed so that no biogeme.toml is read or written, with
    report and iteration files switched off.
    """
    from biogeme.biogeme import BIOGEME
    from biogeme.expressions import Beta, Variable
    from biogeme.models import loglogit
    from biogeme.parameters import Parameters

    db, J, K = state
    betas = [Beta(f"b{k}", 0, None, None, 0) for k in range(K)]
    V = {j: sum(betas[k] * Variable(f"x{k}_{j}") for k in range(K)) for j in range(J)}
    av = {j: Variable(f"av_{j}") for j in range(J)}
    params = Parameters()
    quiet = ("generate_html", "generate_yaml", "generate_netcdf", "save_iterations")
    for name in quiet:
        try:
            params.set_value(name, False)
        except Exception:  # the parameter does not exist in this version
            pass
    model = BIOGEME(db, loglogit(V, av, Variable("choice")), parameters=params)
    model.model_name = "bench"
    res = model.quick_estimate()
    values = res.get_beta_values()
    msgs = res.optimization_messages or {}
    return _result(
        [values[f"b{k}"] for k in range(K)],
        msgs.get("Number of iterations"),
        res.final_log_likelihood,
        None,
        msgs.get("Cause of termination", ""),
        algorithm=str(msgs.get("Algorithm", "")),
    )


# ----------------------------------------------------------------------------------
# larch


def larch_version():
    import larch

    _warm("pandas")
    out = f"larch {larch.__version__}"
    try:
        import jax

        out += f" (jax {jax.__version__})"
    except ImportError:
        pass
    return out


def larch_numba_version():
    import larch
    import numba

    _warm("pandas")
    return f"larch {larch.__version__} (numba {numba.__version__})"


def larch_convert(data):
    """``Dataset.construct.from_idca(long.set_index([case, alt]), fill_missing=0)``.

    From the long table of available rows; for ragged choice sets larch derives the
    ``_avail_`` array (the model then uses it; dense data: all available).
    Without ``fill_missing=0`` the absent rows become NaN and the log-likelihood NaN.
    """
    import larch
    import pandas as pd

    sit, alt, feats, chosen, _ = _long_arrays(data)
    K = feats.shape[1]
    frame = pd.DataFrame(feats, columns=_feature_names(K))
    frame["caseid"] = sit
    frame["altid"] = alt
    frame["chosen"] = chosen.astype(np.float64)
    ds = larch.Dataset.construct.from_idca(
        frame.set_index(["caseid", "altid"]), fill_missing=0
    )
    return ds, K


def _larch_fit(state, engine):
    import larch
    from larch import P, X

    ds, K = state
    kwargs = {} if engine is None else {"compute_engine": engine}
    m = larch.Model(ds, **kwargs)
    m.utility_ca = sum(P(f"b{k}") * X(f"x{k}") for k in range(K))
    m.choice_ca_var = "chosen"
    if "_avail_" in ds:  # ragged: from_idca made it; dense: all available
        m.availability_ca_var = "_avail_"
    else:
        m.availability_any = True
    res = m.maximize_loglike(quiet=True)
    n_iter = res.get("nit")  # scipy methods (JAX engine)
    if n_iter is None and res.get("steps") is not None:  # BHHH: one step per iteration
        n_iter = len(res["steps"])
    names = list(m.pnames)
    coef = [float(m.pvals[names.index(f"b{k}")]) for k in range(K)]
    return _result(
        coef,
        n_iter,
        res.get("loglike"),
        res.get("success"),
        res.get("message", ""),
        method=str(res.get("method", "")),
        engine=str(m.compute_engine),
    )


def larch_fit(state):
    """``larch.Model(...).maximize_loglike()`` with the default engine (JAX here).

    With JAX the default method is SLSQP. Caveat: JAX computes in float32 here (x64
    is not enabled), so the log-likelihood matches the others only to ~1e-8.
    """
    return _larch_fit(state, None)


def larch_numba_fit(state):
    """``larch.Model(..., compute_engine="numba").maximize_loglike()``: BHHH.

    numba compiles on the first fit of the process; the repeats are warm.
    """
    return _larch_fit(state, "numba")


# ----------------------------------------------------------------------------------
# choice-learn (TensorFlow, its own environment)


def choice_learn_version():
    import choice_learn
    import tensorflow as tf

    _warm("choice_learn.data", "choice_learn.models", "tensorflow_probability")
    v = getattr(choice_learn, "__version__", None) or _dist_version("choice-learn")
    return f"choice-learn {v} (tensorflow {tf.__version__})"


def choice_learn_convert(data):
    """``ChoiceDataset(items_features_by_choice=(n, J, K) float32, available...)``.

    Features zero-filled where unavailable and cast to float32 (its tensors' dtype).
    """
    from choice_learn.data import ChoiceDataset

    X, y, avail = data["X"], data["y"], data["avail"]
    K = X.shape[2]
    ds = ChoiceDataset(
        choices=y.astype(np.int32),
        items_features_by_choice=(np.nan_to_num(X, nan=0.0).astype(np.float32),),
        items_features_by_choice_names=(_feature_names(K),),
        available_items_by_choice=avail.astype(np.float32),
    )
    return ds, X.shape[1], K


def choice_learn_fit(state):
    """``ConditionalLogit`` with one ``add_shared_coefficient`` per feature.

    tfp's L-BFGS (the default optimizer), tolerance 1e-8, at most 1000 iterations.
    The weights are set to 0 after ``instantiate`` (its default start is N(0, 0.02)).
    Caveats: float32; its ``train_loss`` history is not exactly the log-likelihood, so
    only the re-evaluated one counts; iterations are not returned, the number of
    loss evaluations is.
    """
    import tensorflow as tf
    from choice_learn.models import ConditionalLogit

    ds, J, K = state
    model = ConditionalLogit(optimizer="lbfgs", lbfgs_tolerance=1e-8, epochs=1000)
    for name in _feature_names(K):
        model.add_shared_coefficient(
            feature_name=name,
            coefficient_name=f"b_{name}",
            items_indexes=list(range(J)),
        )
    model.instantiate(ds)
    for w in model.trainable_weights:
        w.assign(tf.zeros_like(w))
    hist = model.fit(ds, verbose=0)
    weights = {w.name.split(":")[0]: w.numpy().ravel() for w in model.trainable_weights}
    coef = [float(weights[f"b_{name}"][0]) for name in _feature_names(K)]
    losses = hist.get("train_loss", []) if isinstance(hist, dict) else []
    return _result(coef, None, None, None, "", n_eval=len(losses))


# ----------------------------------------------------------------------------------
# torch-choice


def torch_choice_version():
    import torch

    _warm("torch_choice.data", "torch_choice.model")
    return f"torch-choice {_dist_version('torch_choice')} (torch {torch.__version__})"


def torch_choice_convert(data):
    """``ChoiceDataset(item_index, session_index, itemsession_obs, item_availability)``.

    Features zero-filled where unavailable (NaN would poison the gradient through the
    masked utilities), float64 tensors sharing memory with the zero-filled copy.
    """
    import torch
    from torch_choice.data import ChoiceDataset

    X, y, avail = data["X"], data["y"], data["avail"]
    n = X.shape[0]
    ds = ChoiceDataset(
        item_index=torch.from_numpy(y.astype(np.int64)),
        session_index=torch.arange(n),
        item_availability=torch.from_numpy(avail),
        itemsession_obs=torch.from_numpy(np.nan_to_num(X, nan=0.0)),
    )
    return ds, X.shape[1], X.shape[2]


def torch_choice_fit(state):
    """The library's ``ConditionalLogitModel`` likelihood under a plain LBFGS loop.

    ``coef_variation_dict={"itemsession_obs": "constant"}`` (K generic coefficients),
    zero initialisation, float64, full batch; ``torch.optim.LBFGS`` with strong Wolfe
    line search, lr 1, tolerance_grad 1e-9 on the mean NLL, up to 1000 iterations.
    Caveat: the library's own ``run`` helper (Lightning + Adam, lr 0.01) does not reach
    MLE precision in bounded time, so it is not used.
    """
    import torch
    from torch_choice.model import ConditionalLogitModel

    ds, J, K = state
    model = ConditionalLogitModel(
        coef_variation_dict={"itemsession_obs": "constant"},
        num_param_dict={"itemsession_obs": K},
        num_items=J,
        weight_initialization="zero",
    ).double()
    n = len(ds)
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=1000,
        max_eval=2000,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        history_size=10,
        line_search_fn="strong_wolfe",
    )
    n_eval = [0]

    def closure():
        opt.zero_grad()
        loss = model.negative_log_likelihood(ds, ds.item_index) / n
        loss.backward()
        n_eval[0] += 1
        return loss

    opt.step(closure)
    with torch.no_grad():
        nll = float(model.negative_log_likelihood(ds, ds.item_index, is_train=False))
    params = list(model.parameters())
    state0 = opt.state[params[0]]
    coef = torch.cat([p.detach().reshape(-1) for p in params]).numpy()
    return _result(coef, state0.get("n_iter"), -nll, None, "", n_eval=n_eval[0])


# ----------------------------------------------------------------------------------
# registry

#: name -> (environment, version function, convert, fit, short description)
ADAPTERS = {
    "skpolicy": (
        "main",
        skpolicy_version,
        skpolicy_convert_dense,
        skpolicy_fit,
        "SoftmaxChoiceEstimator() defaults, dense ndarray input",
    ),
    "skpolicy_long": (
        "main",
        skpolicy_version,
        skpolicy_convert_long,
        skpolicy_fit,
        "SoftmaxChoiceEstimator() defaults, long DataFrame input",
    ),
    "skpolicy_numpy": (
        "main",
        skpolicy_version,
        skpolicy_convert_dense,
        skpolicy_numpy_fit,
        "SoftmaxChoiceEstimator() defaults, engine='numpy', dense ndarray input",
    ),
    "numpy_lbfgs": (
        "main",
        numpy_version,
        numpy_convert,
        numpy_lbfgs_fit,
        "numpy reference, scipy L-BFGS-B",
    ),
    "numpy_trust_exact": (
        "main",
        numpy_version,
        numpy_convert,
        numpy_trust_exact_fit,
        "numpy reference, scipy trust-exact",
    ),
    "statsmodels": (
        "main",
        statsmodels_version,
        statsmodels_convert,
        statsmodels_fit,
        "statsmodels ConditionalLogit, BFGS",
    ),
    "xlogit": ("main", xlogit_version, xlogit_convert, xlogit_fit, "xlogit, BFGS"),
    "pylogit": ("py39", pylogit_version, pylogit_convert, pylogit_fit, "pylogit, BFGS"),
    "biogeme": (
        "main",
        biogeme_version,
        biogeme_convert,
        biogeme_fit,
        "biogeme quick_estimate, default algorithm",
    ),
    "larch": ("main", larch_version, larch_convert, larch_fit, "larch, JAX engine"),
    "larch_numba": (
        "main",
        larch_numba_version,
        larch_convert,
        larch_numba_fit,
        "larch, numba engine",
    ),
    "choice_learn": (
        "tf",
        choice_learn_version,
        choice_learn_convert,
        choice_learn_fit,
        "choice-learn ConditionalLogit, tfp L-BFGS",
    ),
    "torch_choice": (
        "main",
        torch_choice_version,
        torch_choice_convert,
        torch_choice_fit,
        "torch-choice ConditionalLogitModel, torch LBFGS",
    ),
}


def timed(fn, *args):
    """Call ``fn(*args)``; return (result, seconds)."""
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start
