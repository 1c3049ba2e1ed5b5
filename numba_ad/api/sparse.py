"""Tape methods for sparse Jacobians and Hessians: patterns, colourings, compressed values.

A mixin of Tape (as batch.py is). Patterns and colourings are computed once per tape
(tape/jacobian_sparsity.py, tape/hessian_sparsity.py) and kept; each call is then one
compiled driver (tape/sparse_drivers.py): C tangent or adjoint sweeps on one linearisation
(Jacobian; forward or reverse, whichever colouring has fewer colours) or C Hessian-vector
products (Hessian, star colouring), and a gather of the stored entries, in the fixed CSR order
of the pattern. Matrices are ``scipy.sparse`` ones, so SciPy (the ``scipy`` extra) is needed
for the methods that return one; the ``*_values`` methods and the plans need only NumPy.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.tape import hessian_sparsity as hs
from numba_ad.tape import jacobian_sparsity as js
from numba_ad.tape import sparse_drivers
from numba_ad.tape.sparse_drivers import SparseHessianPlan, SparseJacobianPlan

Mode = Literal["auto", "forward", "reverse"]
# star_coloring's steps (coloring_work) beyond which each column gets its own colour: the
# greedy is quartic in the degree (n d^3), the n HVPs of a dense Hessian are not.
MAX_COLORING_WORK = 100_000_000
# tape.hessian compresses when the colours number at most this fraction of n. Banded
# Hessians at n = 64 measured 268 us compressed against 306 dense with 0.77 n colours, 323
# against 346 with 0.89 n, 378 against 370 with 0.98 n (recovery then costs more than the
# products saved).
COMPRESS_BELOW = 0.9


def _scipy_sparse():
    try:
        import scipy.sparse
    except ImportError:
        raise ImportError(
            "sparse Jacobians and Hessians are returned as scipy.sparse matrices: install SciPy "
            "(pip install scipy, or numba_ad's 'scipy' extra), or use the *_values methods"
        ) from None
    return scipy.sparse


class _JacobianPattern:
    """The Jacobian pattern of a tape with both colourings (computed once, then kept)."""

    def __init__(self, arrays: Any, n: int, m: int) -> None:
        col_ptr, col_rows = js.pattern_of(arrays)
        self.indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.bincount(col_rows, minlength=m), out=self.indptr[1:])
        # CSC -> CSR by a stable sort on rows: within a row, columns stay increasing
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(col_ptr))
        order = np.argsort(col_rows, kind="stable")
        self.indices = cols[order]
        self.rows = col_rows[order]
        self.shape = (m, n)
        self.column_colors = js.best_coloring(col_ptr, col_rows, self.indptr, self.indices)
        self.row_colors = js.best_coloring(self.indptr, self.indices, col_ptr, col_rows)
        self.n_column_colors = int(self.column_colors.max(initial=-1)) + 1
        self.n_row_colors = int(self.row_colors.max(initial=-1)) + 1
        self.plans: dict[bool, SparseJacobianPlan] = {}

    def plan(self, mode: str) -> SparseJacobianPlan:
        if mode not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
        forward = mode == "forward" or (mode == "auto" and self.n_column_colors <= self.n_row_colors)
        plan = self.plans.get(forward)
        if plan is None:
            colors, count = (
                (self.column_colors, self.n_column_colors) if forward else (self.row_colors, self.n_row_colors)
            )
            plan = self.plans[forward] = SparseJacobianPlan(
                forward, colors, count, self.rows, self.indices, self.indptr
            )
        return plan


def _hessian_plan(arrays: Any, n: int, output_mask: np.ndarray) -> SparseHessianPlan:
    indptr, indices = hs.pattern_of(arrays, output_mask)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    nnz = indices.shape[0]
    if 2 * nnz >= n * n or hs.coloring_work(indptr, indices) > MAX_COLORING_WORK:
        # one colour per column (a star colouring too): a dense pattern gains nothing from
        # colouring, and entry (i, j) is then read from row i of product j, so the sources are
        # the pattern's own arrays (no more memory than the pattern: 16 bytes per entry)
        colors = np.arange(n, dtype=np.int64)
        seeds = np.eye(n)
        return SparseHessianPlan(colors, n if nnz else 0, seeds, rows, indices, rows, indices, indptr)
    degree = np.diff(indptr) - np.bincount(rows[rows == indices], minlength=n)  # without the diagonal
    order = np.argsort(-degree, kind="stable")  # largest first: a hub before its spokes
    colors = hs.star_coloring(indptr, indices, order)
    n_colors = int(colors.max(initial=-1)) + 1 if nnz else 0
    seeds = np.zeros((n, max(n_colors, 1)))
    if n_colors:
        seeds[np.arange(n), colors] = 1.0
    src_row, src_col = hs.star_sources(indptr, indices, colors, n_colors)
    return SparseHessianPlan(colors, n_colors, seeds, src_row, src_col, rows, indices, indptr)


def _check_out(out, nnz):
    if out is None:
        return np.empty(nnz)
    want = f"out must be a writeable, C-contiguous float64 array of shape ({nnz},) (the pattern's nnz)"
    if not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != (nnz,):
        got = f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"{want}; got {got}")
    # the kernel's entry point is found once per tape for a contiguous array (Tape._entry), and
    # would write a strided one as if it were contiguous
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"{want}; got a {'strided' if out.flags.writeable else 'read-only'} one")
    return out


class SparseMethods:
    """Sparse Jacobians (jacobian_sparsity, jacobian_coloring, sparse_jacobian[_values,_many],
    sparse_jacobian_plan) and Hessians (hessian_sparsity, hessian_coloring,
    sparse_hessian[_values,_many], sparse_hessian_plan)."""

    # -- Jacobians -------------------------------------------------------------------------
    def _jacobian_pattern(self) -> _JacobianPattern:
        state = self._derived  # the tape's cache of structures derived from its arrays
        pattern = state.get("jacobian_pattern")
        if pattern is None:
            pattern = state["jacobian_pattern"] = _JacobianPattern(self.arrays, self.n_inputs, self.n_outputs)
        return pattern

    def jacobian_sparsity(self) -> Any:
        """The structural pattern of the Jacobian (m, n) as a ``scipy.sparse.csr_array`` of
        ones (int8), exact for the recorded branch: an entry is there when a path from the
        input to the output runs through partials that can be nonzero (both branches of a
        ``where`` count). Time and memory follow the tape and the nonzeros, not m x n."""
        pattern = self._jacobian_pattern()
        data = np.ones(pattern.indices.shape[0], dtype=np.int8)
        return _scipy_sparse().csr_array((data, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)

    def jacobian_coloring(self) -> dict[str, Any]:
        """The colourings sparse_jacobian uses: ``column_colors`` (n,), ``row_colors`` (m,), their
        counts, and the mode "auto" picks (forward when columns need no more colours)."""
        pattern = self._jacobian_pattern()
        return dict(
            column_colors=pattern.column_colors.copy(),
            row_colors=pattern.row_colors.copy(),
            n_column_colors=pattern.n_column_colors,
            n_row_colors=pattern.n_row_colors,
            mode="forward" if pattern.plan("auto").forward else "reverse",
        )

    def sparse_jacobian_plan(self, mode: Mode = "auto") -> SparseJacobianPlan:
        """The plan sparse_jacobian follows (for ``numba_ad.nb.sparse_jacobian_into``)."""
        return self._jacobian_pattern().plan(mode)

    def _sparse_jacobian_values(self, x, out, mode, params):
        plan = self._jacobian_pattern().plan(mode)
        values = _check_out(out, plan.rows.shape[0])
        x, p = self._point(x, params)
        d_a, d_b, _ = self._linear_buffers()
        lanes = self._lane_buffer(plan.n_colors)
        failed = self._entry(
            sparse_drivers.sparse_jacobian_into,
            self.arrays,
            x,
            p,
            self._buffers().w,
            d_a,
            d_b,
            lanes,
            plan,
            values,
        )
        return values, failed

    def sparse_jacobian_values(
        self, x: ArrayLike, params: ArrayLike | None = None, *, out: np.ndarray | None = None, mode: Mode = "auto"
    ) -> np.ndarray:
        """The Jacobian's nonzero values at x, in the CSR order of ``jacobian_sparsity()``:
        into `out` (float64, (nnz,)) when given, else a new array. The same computation as
        sparse_jacobian without building a matrix, for refilling one you keep."""
        return self._checked(self._sparse_jacobian_values(x, out, mode, params))

    def _sparse_jacobian(self, x, mode, params):
        values, failed = self._sparse_jacobian_values(x, None, mode, params)
        pattern = self._jacobian_pattern()
        matrix = _scipy_sparse().csr_array((values, pattern.indices.copy(), pattern.indptr.copy()), shape=pattern.shape)
        return matrix, failed

    def sparse_jacobian(self, x: ArrayLike, params: ArrayLike | None = None, *, mode: Mode = "auto") -> Any:
        """The Jacobian (m, n) at x as a ``scipy.sparse.csr_array`` with the pattern of
        ``jacobian_sparsity()`` (entries that happen to be zero at x stay stored), from as many
        tangent sweeps as the columns have colours, or adjoint sweeps as the rows have ("auto"
        takes fewer). Every call returns the same pattern, so solvers can reuse a symbolic
        factorisation."""
        return self._checked(self._sparse_jacobian(x, mode, params))

    def sparse_jacobian_many(self, X: ArrayLike, params: ArrayLike | None = None, *, mode: Mode = "auto") -> np.ndarray:
        """The Jacobian's nonzero values at each row of X: (N, nnz), row k in the CSR order of
        ``jacobian_sparsity()`` (``csr_array((V[k], J.indices, J.indptr))`` is the matrix at
        X[k]). params: (n_params,) shared or (N, n_params), as for eval_many."""
        plan = self._jacobian_pattern().plan(mode)
        X, P, _, failed = self._batch(X, params, buffers=1)
        values = np.empty((X.shape[0], plan.rows.shape[0]))
        d_a, d_b, _ = self._linear_buffers()
        lanes = self._lane_buffer(plan.n_colors)
        sparse_drivers.sparse_jacobian_many_into(
            self.arrays,
            X,
            P,
            self._buffers().w,
            d_a,
            d_b,
            lanes,
            plan,
            values,
            failed,
        )
        self._raise_if_any_failed(failed)
        return values

    # -- Hessians --------------------------------------------------------------------------
    def _output_mask(self, weights):
        if weights is None:
            return np.ones(self.n_outputs, dtype=bool)
        return self._output_weights(weights) != 0.0

    def _hessian_plan_for(self, mask: np.ndarray) -> SparseHessianPlan:
        plans = self._derived.setdefault("hessian_plans", {})
        key = mask.tobytes()
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _hessian_plan(self.arrays, self.n_inputs, mask)
        return plan

    def hessian_sparsity(self, weights: ArrayLike | None = None) -> Any:
        """The structural pattern of the Hessian (n, n) as a symmetric ``scipy.sparse.csr_array``
        of ones (int8), exact for the recorded branch: of f for a scalar tape; for a vector tape
        of sum_i weights[i] f_i over the outputs whose weight is nonzero (all outputs when
        weights is None). Time and memory follow the tape and the nonzeros, not n^2."""
        plan = self._hessian_plan_for(self._output_mask(weights))
        n = self.n_inputs
        data = np.ones(plan.cols.shape[0], dtype=np.int8)
        return _scipy_sparse().csr_array((data, plan.cols.copy(), plan.indptr.copy()), shape=(n, n))

    def hessian_coloring(self) -> dict[str, Any]:
        """The star colouring sparse_hessian uses: ``colors`` (n,) and ``n_colors`` (the number
        of Hessian-vector products per Hessian)."""
        plan = self.sparse_hessian_plan()
        return dict(colors=plan.colors.copy(), n_colors=plan.n_colors)

    def sparse_hessian_plan(self) -> SparseHessianPlan:
        """The plan sparse_hessian follows (the pattern of all outputs; for
        ``numba_ad.nb.sparse_hessian_into``)."""
        return self._hessian_plan_for(np.ones(self.n_outputs, dtype=bool))

    def _sparse_hessian_values(self, x, weights, out, params):
        self._require_rules(2, "sparse_hessian")
        plan = self.sparse_hessian_plan()
        values = _check_out(out, plan.rows.shape[0])
        x, p = self._point(x, params)
        weights = self._output_weights(weights)
        C = plan.seeds.shape[1]
        compressed = np.empty((self.n_inputs, C))
        failed = sparse_drivers.sparse_hessian_into(
            self.arrays,
            x,
            p,
            weights,
            plan,
            *self._second_order_buffers(C),
            compressed,
            values,
        )
        return values, failed

    def sparse_hessian_values(
        self,
        x: ArrayLike,
        params: ArrayLike | None = None,
        *,
        weights: ArrayLike | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The Hessian's stored values at x in the CSR order of ``sparse_hessian_plan()``
        (both triangles), into `out` (float64, (nnz,)) when given, else a new array."""
        return self._checked(self._sparse_hessian_values(x, weights, out, params))

    def sparse_hessian_many(
        self, X: ArrayLike, params: ArrayLike | None = None, *, weights: ArrayLike | None = None
    ) -> np.ndarray:
        """The Hessian's stored values at each row of X: (N, nnz), row k in the CSR order of
        ``sparse_hessian_plan()`` (``csr_array((V[k], plan.cols, plan.indptr))`` is the matrix
        at X[k]); weights (m,) shared by all points, params as for eval_many."""
        self._require_rules(2, "sparse_hessian_many")
        plan = self.sparse_hessian_plan()
        weights = self._output_weights(weights)
        X, P, _, failed = self._batch(X, params, buffers=1)
        values = np.empty((X.shape[0], plan.rows.shape[0]))
        C = plan.seeds.shape[1]
        sparse_drivers.sparse_hessian_many_into(
            self.arrays,
            X,
            P,
            weights,
            plan,
            *self._second_order_buffers(C),
            np.empty((self.n_inputs, C)),
            values,
            failed,
        )
        self._raise_if_any_failed(failed)
        return values

    def _sparse_hessian(self, x, weights, params):
        values, failed = self._sparse_hessian_values(x, weights, None, params)
        plan = self.sparse_hessian_plan()
        n = self.n_inputs
        matrix = _scipy_sparse().csr_array((values, plan.cols.copy(), plan.indptr.copy()), shape=(n, n))
        return matrix, failed

    def sparse_hessian(self, x: ArrayLike, params: ArrayLike | None = None, *, weights: ArrayLike | None = None) -> Any:
        """The Hessian (n, n) at x as a symmetric ``scipy.sparse.csr_array`` (both triangles
        stored), of a scalar tape or of sum_i weights[i] f_i (weights as for hessian).

        Exact, from as many Hessian-vector products as a star colouring of the pattern has
        colours (tridiagonal: 3, an arrowhead: 2, whatever n). The pattern is that of all the
        outputs (``hessian_sparsity()``), whatever the weights, so every call returns the same
        structure; entries that are zero at x, or for these weights, stay stored. H[i, j] and
        H[j, i] may come from different products: they agree to rounding."""
        return self._checked(self._sparse_hessian(x, weights, params))
