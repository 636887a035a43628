"""The printed summary of a fitted choice model (text and HTML)."""

import numpy as np

# Significant digits of estimates, standard errors and interval bounds: every
# number of a column carries the same number (mlogit prints about 6, Stata 7).
_DIGITS = 7


def _fmt(x, digits=4):
    """Fixed decimals (fit statistics, whose scale is known)."""
    if not np.isfinite(x):
        return str(x)
    return f"{x:.{digits}f}"


def _sig(x, digits=_DIGITS):
    """``digits`` significant digits, in positional notation when it fits."""
    if not np.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    text = f"{x:#.{digits}g}"
    if "e" in text:
        return text
    return text.rstrip(".") if text.endswith(".") else text


def _aligned(pairs):
    """Label left-aligned, value right-aligned, in a column just wide enough."""
    width = max(len(k) for k, _ in pairs) + max(len(v) for _, v in pairs) + 2
    return [f"{k}{v:>{width - len(k)}}" for k, v in pairs]


class ChoiceModelSummary:
    """Text (and HTML) summary of a fitted conditional logit.

    Attributes
    ----------
    info : list of (str, str)
        Model information shown in the header's left column.
    fit_statistics : pandas Series
        As returned by ``fit_statistics``.
    coef_table : pandas DataFrame
        As returned by ``coef_table``.
    """

    title = "Conditional logit (McFadden) results"

    def __init__(self, info, fit_statistics, coef_table):
        self.info = info
        self.fit_statistics = fit_statistics
        self.coef_table = coef_table

    def _statistics_rows(self):
        s = self.fit_statistics
        ref = s.attrs.get("reference", "equal shares")
        # Log-likelihoods to 4 decimals (Stata prints 4, mlogit 1).
        rows = [
            ("Log-likelihood:", _fmt(s["log_likelihood"], 4)),
            ("Null log-likelihood:", _fmt(s["null_log_likelihood"], 4)),
        ]
        if not np.isnan(s["constants_log_likelihood"]):
            rows.append(
                ("Constants-only log-lik.:", _fmt(s["constants_log_likelihood"], 4))
            )
        rows += [
            (f"McFadden rho2 ({ref}):", _fmt(s["mcfadden_r2"], 6)),
            ("Adjusted rho2:", _fmt(s["adjusted_mcfadden_r2"], 6)),
            (f"LR chi2({int(s['lr_df'])}):", _fmt(s["lr_statistic"], 4)),
            ("Prob > chi2:", _sig(s["lr_pvalue"], 4)),
            ("AIC:", _fmt(s["aic"], 4)),
            ("BIC:", _fmt(s["bic"], 4)),
        ]
        return rows

    def _table_strings(self):
        table = self.coef_table
        cells = [[str(name)] for name in table.index]
        for col in table.columns:
            for i, value in enumerate(table[col].to_numpy()):
                if col == "z":
                    text = f"{value:.3f}"
                elif col == "P>|z|":
                    text = f"{value:.3f}"
                else:
                    text = _sig(value)
                cells[i].append(text)
        header = ["", *map(str, table.columns)]
        widths = [max(len(r[k]) for r in [header, *cells]) for k in range(len(header))]

        def line(row):
            first = row[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            return "   ".join([first, *rest])

        return line(header), [line(r) for r in cells]

    def as_text(self):
        """The summary as plain text."""
        header, body = self._table_strings()
        left = _aligned(self.info)
        right = _aligned(self._statistics_rows())
        n = max(len(left), len(right))
        left += [" " * len(left[0])] * (n - len(left))
        right += [""] * (n - len(right))
        top = [f"{a}   {b}".rstrip() for a, b in zip(left, right, strict=True)]
        width = max(len(header), *(len(t) for t in top))
        rule, thin = "=" * width, "-" * width
        lines = [self.title.center(width).rstrip(), rule, *top, rule, header, thin]
        lines += body
        lines.append(rule)
        return "\n".join(lines)

    def __str__(self):
        return self.as_text()

    def __repr__(self):
        return self.as_text()

    def _repr_html_(self):
        def pairs(rows):
            return "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)

        header = (
            f"<table class='simpletable'><caption>{self.title}</caption>"
            f"{pairs(self.info)}{pairs(self._statistics_rows())}</table>"
        )
        return header + self.coef_table.to_html(float_format=_sig)
