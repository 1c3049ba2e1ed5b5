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
# T, the index table: read-only (CompiledTape's is immutable; a writable one converts)
TABLE = 'Array(int64, 1, "C", readonly=True)'
# what vjp_many, compiled on first call for the types it is given, requires of them (free at run time)
_MANY_TYPES = (
    ("X", "float64", 2, False),
    ("P", "float64", 2, False),
    ("w0", "float64", 1, False),
    ("y_bar", "float64", 1, False),
    ("Y", "float64", 2, True),
    ("G", "float64", 2, True),
    ("status", "int64", 1, True),
)


def _raise_unless(condition: str, message: str) -> If:
    return If(condition, [Stmt(f"raise ValueError({message!r})")])


def argument_checks(kernel: str, sizes: tuple[int, int, int], n_work: int | None = None, table_len: int = 0) -> list:
    """Statements that raise a ValueError naming the argument of `kernel` (eval_into, vjp_into,
    vjp_many) whose shape is not the one the module was written for: a few integer compares
    before the loops, so that no index the generated code computes leaves its array.

    `sizes` is (n_inputs, n_params, n_outputs); `n_work` the length of w (None: straight-line
    code, which never reads w, wb or T); `table_len` the length of T, whose last entry is then
    the module's FINGERPRINT: a T of another module (whose positions may lie beyond this
    module's w) is refused at O(1) cost.
    """
    n, n_params, m = sizes
    where = f"numba_ad compiled {kernel}"
    if kernel == "vjp_many":
        nodes = [Stmt(f"expect_array({a}, '{where}: {a}', '{t}', {nd}, {w})") for a, t, nd, w in _MANY_TYPES]
        nodes += [
            _raise_unless(f"X.shape[1] != {n}", f"{where}: X must have shape (N, {n})"),
            _raise_unless(
                f"P.shape[1] != {n_params} or (P.shape[0] != 1 and P.shape[0] != X.shape[0])",
                f"{where}: P must have shape (1, {n_params}) or (N, {n_params})",
            ),
            _raise_unless(f"y_bar.shape[0] != {m}", f"{where}: y_bar must have shape ({m},)"),
            _raise_unless(f"Y.shape[0] != X.shape[0] or Y.shape[1] != {m}", f"{where}: Y must have shape (N, {m})"),
            _raise_unless(f"G.shape[0] != X.shape[0] or G.shape[1] != {n}", f"{where}: G must have shape (N, {n})"),
            _raise_unless("status.shape[0] != X.shape[0]", f"{where}: status must have shape (N,)"),
        ]
        work = ("w0",)
    else:
        nodes = [
            _raise_unless(f"x.shape[0] != {n}", f"{where}: x must have shape ({n},)"),
            _raise_unless(f"p.shape[0] != {n_params}", f"{where}: p must have shape ({n_params},)"),
            _raise_unless(f"y.shape[0] != {m}", f"{where}: y must have shape ({m},)"),
        ]
        if kernel == "vjp_into":
            nodes += [
                _raise_unless(f"y_bar.shape[0] != {m}", f"{where}: y_bar must have shape ({m},)"),
                _raise_unless(f"g.shape[0] != {n}", f"{where}: g must have shape ({n},)"),
            ]
        work = ("w", "wb") if kernel == "vjp_into" else ("w",)
    if n_work is None:
        return nodes
    made_by = "compiled.workspace() of this CompiledTape"
    for name in work:
        nodes.append(
            _raise_unless(f"{name}.shape[0] != {n_work}", f"{where}: {name} must have shape ({n_work},): {made_by}")
        )
    condition = f"T.shape[0] != {table_len}"
    if table_len:
        condition += f" or T[{table_len - 1}] != FINGERPRINT"
    nodes.append(_raise_unless(condition, f"{where}: T is not this module's index table: {made_by}"))
    return nodes


def eval_function(body: list) -> Function:
    return Function(f"'int64({VEC}, {VEC}, {VEC}, {TABLE}, {VEC})', {OPTIONS}", "eval_into(x, p, w, T, y)", body)


def vjp_function(body: list) -> Function:
    return Function(
        f"'int64({VEC}, {VEC}, {VEC}, {VEC}, {TABLE}, {VEC}, {VEC}, {VEC})', {OPTIONS}",
        "vjp_into(x, p, w, wb, T, y_bar, y, g)",
        body,
    )


def vjp_many_function(per_block: list, per_row: list, checks: list) -> Function:
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
        checks
        + [
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
