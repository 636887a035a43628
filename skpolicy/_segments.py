"""Reductions over the situations (segments) of a canonical choice block.

The rows of a canonical block are grouped by situation: situation ``s`` owns the
rows ``offsets[s]:offsets[s + 1]``. Every per-situation operation the kernel needs
(sum, max, broadcast back to rows, probability-weighted mean of the feature rows)
lives here, so that the loss code never loops over situations.

Two storages implement the same interface:

- :class:`RegularSegments`: every situation has the same number of rows ``J``.
  Reductions are reshapes to ``(n_segments, J)``; this is the layout of dense input
  without unavailable alternatives and the fast path.
- :class:`RaggedSegments`: situations of varying size, reduced with
  ``np.ufunc.reduceat`` and a CSR matrix for the weighted row means.
"""

import numpy as np
import scipy.sparse as sp


class Segments:
    """Partition of ``n_rows`` rows into ``n_segments`` contiguous, non-empty runs.

    Attributes
    ----------
    offsets : ndarray of shape (n_segments + 1,), dtype int64
        Row boundaries; ``offsets[0] == 0`` and ``offsets[-1] == n_rows``.
    """

    offsets: np.ndarray

    @property
    def n_segments(self):
        return self.offsets.shape[0] - 1

    @property
    def n_rows(self):
        return int(self.offsets[-1])

    @property
    def sizes(self):
        """ndarray of shape (n_segments,): number of rows of each segment."""
        return np.diff(self.offsets)

    def segment_of_rows(self):
        """ndarray of shape (n_rows,): the segment index of every row."""
        return self.expand(np.arange(self.n_segments))

    def split(self, max_rows):
        """Cut into consecutive chunks of whole segments of about ``max_rows`` rows.

        Returns
        -------
        chunks : list of (slice, slice, Segments)
            Row slice, segment slice and the chunk's own (zero-based) segments.
        """
        raise NotImplementedError

    def sum(self, values):
        """Sum a per-row array over each segment, shape (n_rows,) -> (n_segments,)."""
        raise NotImplementedError

    def max(self, values):
        """Maximum of a per-row array over each segment."""
        raise NotImplementedError

    def expand(self, values):
        """Repeat a per-segment array (along axis 0) on each row of its segment."""
        raise NotImplementedError

    def argmax(self, values):
        """Row index of each segment's largest value (the first one on ties)."""
        raise NotImplementedError

    def weighted_row_sum(self, weights, X):
        """Sum over each segment of ``weights[i] * X[i]``.

        Parameters
        ----------
        weights : ndarray of shape (n_rows,)
        X : ndarray of shape (n_rows, n_features)

        Returns
        -------
        ndarray of shape (n_segments, n_features)
        """
        raise NotImplementedError


class RegularSegments(Segments):
    """Segments that all have ``size`` rows."""

    def __init__(self, n_segments, size):
        self.size = int(size)
        self.offsets = np.arange(n_segments + 1, dtype=np.int64) * self.size

    def split(self, max_rows):
        per_chunk = max(1, max_rows // self.size)
        chunks = []
        for start in range(0, self.n_segments, per_chunk):
            stop = min(start + per_chunk, self.n_segments)
            chunks.append(
                (
                    slice(start * self.size, stop * self.size),
                    slice(start, stop),
                    RegularSegments(stop - start, self.size),
                )
            )
        return chunks

    def _fold(self, values):
        return values.reshape(-1, self.size)

    def sum(self, values):
        return self._fold(values).sum(axis=1)

    def max(self, values):
        return self._fold(values).max(axis=1)

    def expand(self, values):
        return np.repeat(values, self.size, axis=0)

    def argmax(self, values):
        return self.offsets[:-1] + self._fold(values).argmax(axis=1)

    def weighted_row_sum(self, weights, X):
        # A batched (1, J) @ (J, K) product: faster than einsum or a broadcast
        # multiply-and-sum, and it allocates only the (n_segments, K) result.
        n_features = X.shape[1]
        folded = X.reshape(-1, self.size, n_features)
        w = weights.reshape(-1, 1, self.size).astype(X.dtype, copy=False)
        return np.matmul(w, folded).reshape(-1, n_features)


class RaggedSegments(Segments):
    """Segments of arbitrary (positive) sizes given by their offsets."""

    def __init__(self, offsets):
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self._starts = self.offsets[:-1]
        self._sizes = np.diff(self.offsets)

    def split(self, max_rows):
        # Chunk boundaries at the first segment start past each multiple of max_rows.
        targets = np.arange(max_rows, self.n_rows, max_rows)
        cuts = np.unique(
            np.concatenate(
                [[0], np.searchsorted(self.offsets, targets), [self.n_segments]]
            )
        )
        chunks = []
        for start, stop in zip(cuts[:-1], cuts[1:], strict=True):
            row_start, row_stop = self.offsets[start], self.offsets[stop]
            chunks.append(
                (
                    slice(int(row_start), int(row_stop)),
                    slice(int(start), int(stop)),
                    RaggedSegments(self.offsets[start : stop + 1] - row_start),
                )
            )
        return chunks

    def sum(self, values):
        return np.add.reduceat(values, self._starts)

    def max(self, values):
        return np.maximum.reduceat(values, self._starts)

    def expand(self, values):
        return np.repeat(values, self._sizes, axis=0)

    def argmax(self, values):
        is_top = values == self.expand(self.max(values))
        candidates = np.where(is_top, np.arange(self.n_rows), self.n_rows)
        return np.minimum.reduceat(candidates, self._starts)

    def weighted_row_sum(self, weights, X):
        # CSR matrix with one row per segment holding the row weights: its product
        # with X is a single compiled pass, unlike reduceat along axis 0.
        indicator = sp.csr_array(
            (
                weights.astype(X.dtype, copy=False),
                np.arange(self.n_rows, dtype=np.int64),
                self.offsets,
            ),
            shape=(self.n_segments, self.n_rows),
        )
        return indicator @ X


def make_segments(sizes):
    """Return the cheapest :class:`Segments` for the given segment sizes.

    Parameters
    ----------
    sizes : ndarray of shape (n_segments,)
        Positive number of rows of each segment.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.size and np.all(sizes == sizes[0]):
        return RegularSegments(sizes.shape[0], sizes[0])
    offsets = np.zeros(sizes.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return RaggedSegments(offsets)
