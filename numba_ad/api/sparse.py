"""Tape methods for sparse Jacobians: jacobian_sparsity, jacobian_coloring, sparse_jacobian.

A mixin of Tape (as batch.py is). The pattern and its colourings are computed once per tape
(tape/jacobian_sparsity.py) and kept; each ``sparse_jacobian`` call is then C JVPs (or VJPs,
whichever colouring has fewer colours) and one gather of the compressed products into the
CSR values, in the fixed CSR order of the pattern. The matrices are ``scipy.sparse`` ones, so
SciPy (the ``scipy`` extra) is needed for these methods only.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from numba_ad.tape import jacobian_sparsity as js


def _scipy_sparse():
    try:
        import scipy.sparse
    except ImportError:
        raise ImportError(
            "sparse Jacobians are returned as scipy.sparse matrices: install SciPy "
            "(pip install scipy, or numba_ad's 'scipy' extra)"
        ) from None
    return scipy.sparse


class JacobianPlan:
    """What sparse_jacobian needs, computed once per tape: the CSR pattern (indptr, indices,
    and each entry's row), the column and row colourings, and the chosen mode."""

    def __init__(self, arrays: Any, n: int, m: int) -> None:
        col_ptr, col_rows = js.pattern_of(arrays)
        counts = np.bincount(col_rows, minlength=m)
        self.indptr = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(counts, out=self.indptr[1:])
        # CSC -> CSR by a stable sort on rows: within a row, columns stay increasing
        cols = np.repeat(np.arange(n, dtype=np.int64), np.diff(col_ptr))
        order = np.argsort(col_rows, kind="stable")
        self.indices = cols[order]
        self.rows = col_rows[order]
        self.shape = (m, n)
        self.column_colors = js.greedy_coloring(col_ptr, col_rows, self.indptr, self.indices)
        self.row_colors = js.greedy_coloring(self.indptr, self.indices, col_ptr, col_rows)
        self.n_column_colors = int(self.column_colors.max(initial=-1)) + 1
        self.n_row_colors = int(self.row_colors.max(initial=-1)) + 1
        # the compressed seeds (sums of the unit vectors of each colour), made once
        self.column_seeds = np.zeros((n, max(self.n_column_colors, 1)))
        self.column_seeds[np.arange(n), self.column_colors] = 1.0
        self.row_seeds = np.zeros((m, max(self.n_row_colors, 1)))
        self.row_seeds[np.arange(m), self.row_colors] = 1.0

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def mode(self, requested: str) -> str:
        if requested not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {requested!r}")
        if requested != "auto":
            return requested
        return "forward" if self.n_column_colors <= self.n_row_colors else "reverse"


class SparseMethods:
    """jacobian_sparsity, jacobian_coloring, sparse_jacobian and sparse_jacobian_values."""

    def _jacobian_plan(self) -> JacobianPlan:
        state = self._second_order  # the tape's per-tape cache of derived structures
        plan = state.get("jacobian_plan")
        if plan is None:
            plan = state["jacobian_plan"] = JacobianPlan(self.arrays, self.n_inputs, self.n_outputs)
        return plan

    def jacobian_sparsity(self) -> Any:
        """The structural pattern of the Jacobian (m, n) as a ``scipy.sparse.csr_array`` of
        ones (int8), exact for the recorded branch: an entry is there when a path from the
        input to the output runs through partials that can be nonzero (both branches of a
        ``where`` count). Time and memory follow the tape and the nonzeros, not m x n."""
        plan = self._jacobian_plan()
        sp = _scipy_sparse()
        data = np.ones(plan.nnz, dtype=np.int8)
        return sp.csr_array((data, plan.indices.copy(), plan.indptr.copy()), shape=plan.shape)

    def jacobian_coloring(self) -> dict[str, Any]:
        """The colourings sparse_jacobian uses: ``column_colors`` (n,), ``row_colors`` (m,), their
        counts, and the mode "auto" picks (forward when columns need no more colours)."""
        plan = self._jacobian_plan()
        return dict(
            column_colors=plan.column_colors.copy(),
            row_colors=plan.row_colors.copy(),
            n_column_colors=plan.n_column_colors,
            n_row_colors=plan.n_row_colors,
            mode=plan.mode("auto"),
        )

    def sparse_jacobian_values(
        self,
        x: ArrayLike,
        params: ArrayLike | None = None,
        *,
        out: np.ndarray | None = None,
        mode: Literal["auto", "forward", "reverse"] = "auto",
    ) -> np.ndarray:
        """The Jacobian's nonzero values at x, in the CSR order of ``jacobian_sparsity()``:
        into `out` (float64, (nnz,)) when given, else a new array. The same computation as
        sparse_jacobian without building a matrix, for refilling one you keep."""
        plan = self._jacobian_plan()
        if out is not None:
            if not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != (plan.nnz,):
                got = f"{out.dtype} array of shape {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
                raise ValueError(f"out must be a float64 array of shape ({plan.nnz},) (the pattern's nnz); got {got}")
        how = plan.mode(mode)
        n, m = plan.shape[1], plan.shape[0]
        if how == "forward":
            compressed = np.asarray(self.jvp(x, plan.column_seeds, params)).reshape(m, -1)  # (m, C)
            values = compressed[plan.rows, plan.column_colors[plan.indices]]
        else:
            w = plan.row_seeds[0] if self.scalar_output else plan.row_seeds
            compressed = np.asarray(self.vjp(x, w, params)).reshape(n, -1)  # (n, C)
            values = compressed[plan.indices, plan.row_colors[plan.rows]]
        if out is None:
            return values
        out[:] = values
        return out

    def sparse_jacobian(
        self, x: ArrayLike, params: ArrayLike | None = None, *, mode: Literal["auto", "forward", "reverse"] = "auto"
    ) -> Any:
        """The Jacobian (m, n) at x as a ``scipy.sparse.csr_array`` with the pattern of
        ``jacobian_sparsity()`` (entries that happen to be zero at x stay stored), from as many
        JVPs as the columns have colours, or VJPs as the rows have ("auto" takes fewer).
        Every call returns the same pattern, so solvers can reuse a symbolic factorisation."""
        plan = self._jacobian_plan()
        values = self.sparse_jacobian_values(x, params, mode=mode)
        return _scipy_sparse().csr_array((values, plan.indices.copy(), plan.indptr.copy()), shape=plan.shape)
