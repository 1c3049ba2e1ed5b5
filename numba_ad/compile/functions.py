"""What both code generators' modules share: signatures, options, the prange wrapper and the
NaN check, as loop IR (compile/ir.py).

Both modules define ``eval_into``, ``vjp_into``, ``vjp_many`` and (some) ``gradient_into`` with
these signatures; compile/compiled.py calls either.
"""

from numba_ad._config import options_source
from numba_ad.compile.ir import Assign, Function, If, Loop, Stmt

BLOCK_ROWS = 64  # rows of X per prange block in vjp_many: one w, w_bar per block
OPTIONS = options_source()  # the one options module decides (NUMBA_AD_CACHE=0 reaches here)
# gradient_into keeps the GIL: releasing and taking it back measured 40 ns a call, a fifth of
# P1's whole gradient at n = 10 (vjp_into, for threads, releases it)
GRADIENT_OPTIONS = options_source(drop=("nogil",))
VEC = "float64[::1]"


def eval_function(body: list) -> Function:
    return Function(f"'int64({VEC}, {VEC}, {VEC}, int64[::1], {VEC})', {OPTIONS}", "eval_into(x, p, w, T, y)", body)


def vjp_function(body: list) -> Function:
    return Function(
        f"'int64({VEC}, {VEC}, {VEC}, {VEC}, int64[::1], {VEC}, {VEC}, {VEC})', {OPTIONS}",
        "vjp_into(x, p, w, wb, T, y_bar, y, g)",
        body,
    )


def vjp_many_function(per_block: list, per_row: list) -> Function:
    """vjp_into for each row of X, blocks of BLOCK_ROWS rows in parallel; `per_block` sets up a
    block's buffers, `per_row` is the vjp of ``x, p, y, g`` (written in, not called: a call
    passing 8 arrays, which numba increfs each, cost more than P1's whole gradient at n = 10;
    loops.MAX_EMITTED bounds the copies' size)."""
    # `row`, not `i`: the inlined vjp's copy loops rebind i, and status[i] then marked a wrong
    # row (or wrote past status when N < n)
    rows = Loop(
        "row",
        f"min(X.shape[0], (block + 1) * {BLOCK_ROWS})",
        [Assign("x, p, y, g", "X[row], P[row if P.shape[0] > 1 else 0], Y[row], G[row]")] + per_row,
        start=f"block * {BLOCK_ROWS}",
    )
    return Function(
        f"{OPTIONS}, parallel=True",
        "vjp_many(X, P, w0, T, y_bar, Y, G, status)",
        [
            Assign("n_blocks", f"(X.shape[0] + {BLOCK_ROWS - 1}) // {BLOCK_ROWS}"),
            Loop("block", "n_blocks", per_block + [rows], parallel=True),
        ],
    )


def gradient_function(n_inputs: int, body: list) -> Function:
    """gradient_into(x, g): writes the gradient into g and returns f(x) (returning a new array
    to Python costs about 370 ns of boxing, measured: more than P1's whole gradient at n = 10).
    No signature: CompiledTape compiles it for (float64[::1], float64[::1]) on first use and
    then disables compilation, so another dtype is a TypeError, not a new version."""
    check = If(
        "x.shape[0] != N_INPUTS or g.shape[0] != N_INPUTS",
        [Stmt(f"raise ValueError('x and g must have shape ({n_inputs},)')")],
    )
    return Function(GRADIENT_OPTIONS, "gradient_into(x, g)", [check] + body)


def redo_if_nan(n_inputs: int, again: str) -> list:
    """`again` (the adjoint pass under the structural-zero rule) when g has a NaN. Plain products
    first: they differ from the structural-zero ones only by a NaN (0 * inf), and a NaN that
    reaches no input changes nothing; so g without NaN is exact. The times() form measured 2x
    slower (P1 reverse, 326 against 176 us at n = 100000)."""
    return [
        Assign("exact", "False"),
        Loop("i", n_inputs, [Stmt("exact |= g[i] != g[i]")]),
        If("exact", [Stmt(again)], comment="a NaN: again under the structural-zero rule of the sweeps"),
    ]
