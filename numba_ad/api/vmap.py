"""``ad.vmap``: a transformation at many points, batched by the tape's ``*_many`` kernels.

``ad.vmap(ad.grad(f))(X, *rest)`` is the gradient at each row of X (the first argument mapped
over its axis 0, the others shared, as JAX's ``in_axes=(0, None, ...)``), stacked. Where f's
first argument is one array and its output one array or scalar, the rows run as one
``gradient_many`` (``eval_many``, ``value_and_gradient_many``, ``jacobian_many``) on the tape of
the first row's branch, on all cores; ``check_many`` first finds the rows on other branches,
which are served one by one by the function's cache (traced there if needed), so no row is
ever answered by another branch's tape. Any other form runs row by row and stacks the results
leaf by leaf, as JAX's vmap stacks them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numba_ad.api.function_cache import Function
from numba_ad.api.structure import Leaf
from numba_ad.api.transforms import Transformed

_BATCHED = ("__call__", "gradient", "value_and_gradient", "jacobian")


def vmap(fun: Transformed | Function, in_axes: int | tuple = 0) -> Callable[..., Any]:
    """fun over the rows of its first argument: ``vmap(ad.grad(f))(X, *rest)``.

    fun is a transformation (``ad.grad``, ``ad.value_and_grad``, ``ad.jacobian``) or an
    ``ad.function`` (its values). ``in_axes``: 0, or a tuple with 0 first and None for every
    other argument (they are shared by all rows).
    """
    if isinstance(fun, Transformed):
        function, method, options = fun.function, fun._method, fun._options
    elif isinstance(fun, Function):
        function, method, options = fun, "__call__", {}
    else:
        raise TypeError(f"vmap takes ad.grad(f), ad.value_and_grad(f), ad.jacobian(f) or ad.function(f); got {fun!r}")
    if method not in _BATCHED:
        raise TypeError(f"vmap batches values, gradients and Jacobians; not {method}")
    if not (in_axes == 0 or (isinstance(in_axes, tuple) and in_axes[:1] == (0,) and set(in_axes[1:]) <= {None})):
        raise ValueError(f"in_axes must be 0 or (0, None, ...): the first argument mapped over axis 0; got {in_axes!r}")

    def batched(X: Any, *rest: Any) -> Any:
        if isinstance(in_axes, tuple) and len(in_axes) != 1 + len(rest):
            raise ValueError(f"in_axes has {len(in_axes)} entries for {1 + len(rest)} arguments")
        X = np.asarray(X)
        if X.ndim < 1 or X.shape[0] == 0:
            raise ValueError(f"vmap maps over axis 0 of the first argument: got shape {X.shape}")
        if X.dtype.kind not in "fiu":
            raise TypeError(f"vmap's first argument must hold real numbers; got dtype {X.dtype}")
        answer = _on_the_tape(function, method, options, X, rest)
        if answer is not None:
            return answer
        call = getattr(function, method)
        return _stack([call(X[i], *rest, **options) for i in range(X.shape[0])])

    batched.__name__ = f"vmap_{getattr(function.f, '__name__', 'f')}"
    return batched


def _on_the_tape(function: Function, method: str, options: dict, X: np.ndarray, rest: tuple) -> Any:
    """The batched answer from the first row's tape, or None when the form needs the row loop."""
    if function.argnums != 0 or function.has_aux or X.ndim < 2 and method != "__call__":
        return None
    tape, signature, _, p = function._located((X[0], *rest))
    output = tape.output
    if output is None or type(output.main) is not Leaf or output.aux is not None:
        return None
    N, leaf = X.shape[0], signature.args[0]
    flat = np.ascontiguousarray(X.reshape(N, -1), dtype=np.float64)
    on_branch = tape.check_many(flat, p) < 0
    call = getattr(function, method)
    singles = {int(i): call(X[i], *rest, **options) for i in np.flatnonzero(~on_branch)}  # by the cache
    rows = flat[on_branch]
    x_dtype, value_dtype = signature.x_dtypes[0], signature.value_dtype
    out_shape = output.main.shape
    if method == "__call__":
        values = tape.eval_many(rows, p).reshape((-1,) + out_shape)
        return _merge(values.astype(value_dtype, copy=False), on_branch, singles)
    if method == "jacobian":
        J = tape.jacobian_many(rows, p, options.get("mode", "auto")).reshape((-1,) + out_shape + leaf.shape)
        return _merge(J.astype(x_dtype, copy=False), on_branch, singles)
    if out_shape != ():
        return None  # the row loop says that gradient needs a scalar f
    values, G = tape.value_and_gradient_many(rows, p)
    G = G.reshape((-1,) + leaf.shape).astype(x_dtype, copy=False)
    if method == "gradient":
        return _merge(G, on_branch, singles)
    pairs = {i: pair[1] for i, pair in singles.items()}, {i: pair[0] for i, pair in singles.items()}
    return _merge(values.astype(value_dtype, copy=False), on_branch, pairs[1]), _merge(G, on_branch, pairs[0])


def _merge(block: np.ndarray, on_branch: np.ndarray, singles: dict) -> np.ndarray:
    """The rows on the tape's branch from `block`, the others from `singles`, in row order."""
    if not singles:
        return block
    out = np.empty((on_branch.size,) + block.shape[1:], dtype=block.dtype)
    out[on_branch] = block
    for i, answer in singles.items():
        out[i] = answer
    return out


def _stack(results: list) -> Any:
    """Results of each row stacked leaf by leaf (dicts, tuples, lists, NamedTuples kept)."""
    first = results[0]
    if isinstance(first, dict):
        return {k: _stack([r[k] for r in results]) for k in first}
    if isinstance(first, tuple) and hasattr(type(first), "_fields"):
        return type(first)(*(_stack([r[i] for r in results]) for i in range(len(first))))
    if isinstance(first, (tuple, list)):
        return type(first)(_stack([r[i] for r in results]) for i in range(len(first)))
    if first is None:
        return None
    return np.stack([np.asarray(r) for r in results])
