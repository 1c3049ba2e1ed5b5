"""Property tests over random expression graphs built from the ops numba_ad supports.

Hypothesis draws a small DAG: leaves (inputs x, and sometimes parameters p), then a list of
ops each reading earlier values, then one or more outputs. One interpreter runs the DAG both
on traced values (recording a tape) and on plain float64 NumPy scalars (the independent
reference). Ops with a restricted domain are applied to a transformed argument so that every
value stays finite wherever the inputs are (log(1 + v^2), arcsin(0.9 tanh v), ...).

Non-smooth ops (abs, sign, floor, minimum, maximum, hypot) are included: the interpreter
reports, for every point, which smooth piece each of them is on, and the finite-difference
test only runs where all stencil points lie on the same piece, away from the kinks.
"""

import math
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, assume
from hypothesis import strategies as st

import numba_ad as ad  # noqa: E402
from tests._support.corpus import sp  # noqa: E402  SciPy's erf ufuncs, or numba_ad's without SciPy


# --- the op pool ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphOp:
    name: str
    arity: int
    fn: object  # works on Traced and on np.float64
    kink: object = None  # plain args -> distance from the nearest non-smooth point
    piece: object = None  # plain args -> which smooth piece the args are on
    jumps: bool = False  # discontinuous (not only non-differentiable) at its kinks


def _floor_distance(v):
    return abs(v - np.round(v))


UNARY = [
    GraphOp("neg", 1, lambda v: -v),
    GraphOp("scale", 1, lambda v: 0.5 * v - 0.25),
    GraphOp("sin", 1, np.sin),
    GraphOp("cos", 1, np.cos),
    GraphOp("tan", 1, lambda v: np.tan(np.tanh(v))),
    GraphOp("tanh", 1, np.tanh),
    GraphOp("arctan", 1, np.arctan),
    GraphOp("erf", 1, sp.erf),
    GraphOp("erfc", 1, sp.erfc),
    GraphOp("ad_erf", 1, lambda v: ad.erf(0.5 * v)),
    GraphOp("exp", 1, lambda v: np.exp(np.tanh(v))),
    GraphOp("exp2", 1, lambda v: np.exp2(np.sin(v))),
    GraphOp("expm1", 1, lambda v: np.expm1(np.tanh(v))),
    GraphOp("log", 1, lambda v: np.log(1.0 + np.square(v))),
    GraphOp("log2", 1, lambda v: np.log2(0.5 + v * v)),
    GraphOp("log10", 1, lambda v: np.log10(1.0 + v**2)),
    GraphOp("log1p", 1, lambda v: np.log1p(v * v)),
    GraphOp("sqrt", 1, lambda v: np.sqrt(1.0 + v * v)),
    GraphOp("cbrt", 1, lambda v: np.cbrt(2.0 + np.sin(v))),
    GraphOp("arcsin", 1, lambda v: np.arcsin(0.9 * np.tanh(v))),
    GraphOp("arccos", 1, lambda v: np.arccos(0.9 * np.tanh(v))),
    GraphOp("arctanh", 1, lambda v: np.arctanh(0.9 * np.tanh(v))),
    GraphOp("arcsinh", 1, np.arcsinh),
    GraphOp("arccosh", 1, lambda v: np.arccosh(1.1 + v * v)),
    GraphOp("sinh", 1, lambda v: np.sinh(np.tanh(v))),
    GraphOp("cosh", 1, lambda v: np.cosh(np.sin(v))),
    GraphOp("square", 1, np.square),
    GraphOp("cube", 1, lambda v: v**3),
    GraphOp("powi_neg", 1, lambda v: (1.0 + v * v) ** -2),
    GraphOp("powc", 1, lambda v: (1.0 + v * v) ** 0.75),
    GraphOp("sqrt_pow", 1, lambda v: (2.0 + np.cos(v)) ** 0.5),
    GraphOp("cpow", 1, lambda v: 1.7 ** np.tanh(v)),
    GraphOp("reciprocal", 1, lambda v: np.reciprocal(1.0 + v * v)),
    GraphOp("deg2rad", 1, np.deg2rad),
    GraphOp("abs", 1, np.abs, kink=abs, piece=lambda v: np.sign(v)),
    GraphOp("sign", 1, lambda v: np.sign(v) * 0.5 + v, kink=abs, piece=lambda v: np.sign(v), jumps=True),
    GraphOp("floor", 1, lambda v: np.floor(v) + 0.25 * v, kink=_floor_distance, piece=np.floor, jumps=True),
]

BINARY = [
    GraphOp("add", 2, lambda a, b: a + b),
    GraphOp("sub", 2, lambda a, b: a - b),
    GraphOp("mul", 2, lambda a, b: a * b),
    GraphOp("div", 2, lambda a, b: a / (1.0 + b * b)),
    GraphOp("pow", 2, lambda a, b: (1.0 + a * a) ** np.tanh(b)),
    GraphOp("arctan2", 2, lambda a, b: np.arctan2(a, 1.0 + b * b)),
    GraphOp("arctan2_y", 2, lambda a, b: np.arctan2(1.0 + a * a, b)),
    GraphOp("hypot", 2, np.hypot, kink=lambda a, b: math.hypot(a, b), piece=lambda a, b: 0.0),
    GraphOp("minimum", 2, np.minimum, kink=lambda a, b: abs(a - b), piece=lambda a, b: np.sign(a - b)),
    GraphOp("maximum", 2, np.maximum, kink=lambda a, b: abs(a - b), piece=lambda a, b: np.sign(a - b)),
]

OPS = UNARY + BINARY


@dataclass
class Graph:
    n_x: int
    n_p: int
    nodes: list  # (GraphOp, argument indices) ; index < n_x + n_p is a leaf
    outputs: list
    vector: bool

    def __repr__(self):
        names = [f"x{i}" for i in range(self.n_x)] + [f"p{i}" for i in range(self.n_p)]
        lines = []
        for k, (op, args) in enumerate(self.nodes):
            name = f"v{k}"
            lines.append(f"{name} = {op.name}({', '.join(names[a] for a in args)})")
            names.append(name)
        out = [names[i] for i in self.outputs]
        lines.append(f"return {out if self.vector else out[0]}")
        return f"Graph(n_x={self.n_x}, n_p={self.n_p}):\n  " + "\n  ".join(lines)


class Trace:
    """What a plain evaluation saw: largest |value|, distance from the nearest kink
    (all non-smooth ops) and jump (discontinuous ones), and the smooth pieces taken."""

    def __init__(self):
        self.max_abs = 0.0
        self.kink = math.inf
        self.jump = math.inf
        self.pieces = []


def run(graph, x, p=None, trace=None):
    """The graph on x (and p): a scalar or a list, as a user's function would return."""
    vals = [x[i] for i in range(graph.n_x)] + [p[i] for i in range(graph.n_p)]
    if trace is not None:
        trace.max_abs = max((abs(float(v)) for v in vals), default=0.0)
    for op, args in graph.nodes:
        operands = [vals[a] for a in args]
        value = op.fn(*operands)
        if trace is not None:
            fl = [float(v) for v in operands]
            if op.kink is not None:
                d = float(op.kink(*fl))
                trace.kink = min(trace.kink, d)
                if op.jumps:
                    trace.jump = min(trace.jump, d)
                trace.pieces.append(float(op.piece(*fl)))
            trace.max_abs = max(trace.max_abs, abs(float(value)))
        vals.append(value)
    out = [vals[i] for i in graph.outputs]
    return out if graph.vector else out[0]


def plain(graph, x, p=None, trace=None):
    """Reference: the graph on plain float64 scalars, as a 1-D float array."""
    x = np.asarray(x, dtype=np.float64)
    p = None if p is None else np.asarray(p, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.atleast_1d(np.asarray(run(graph, x, p, trace), dtype=np.float64))


def as_function(graph):
    if graph.n_p:
        return lambda x, p: run(graph, x, p)
    return lambda x: run(graph, x)


# --- strategies ----------------------------------------------------------------------------
coordinate = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw, max_nodes=12, allow_params=True):
    n_x = draw(st.integers(1, 4))
    n_p = draw(st.integers(0, 2)) if allow_params else 0
    n_leaves = n_x + n_p
    nodes = []
    for k in range(draw(st.integers(1, max_nodes))):
        avail = n_leaves + k
        op = draw(st.sampled_from(OPS))
        # counted back from the newest value: shrinks towards deep chains
        args = tuple(avail - 1 - draw(st.integers(0, avail - 1)) for _ in range(op.arity))
        nodes.append((op, args))
    total = n_leaves + len(nodes)
    m = draw(st.integers(1, 3))
    outputs = [total - 1 - draw(st.integers(0, total - 1)) for _ in range(m)]
    vector = m > 1 or draw(st.booleans())
    graph = Graph(n_x, n_p, nodes, outputs, vector)
    x0 = np.array(draw(st.lists(coordinate, min_size=n_x, max_size=n_x)))
    x1 = np.array(draw(st.lists(coordinate, min_size=n_x, max_size=n_x)))
    p0 = np.array(draw(st.lists(coordinate, min_size=n_p, max_size=n_p))) if n_p else None
    p1 = np.array(draw(st.lists(coordinate, min_size=n_p, max_size=n_p))) if n_p else None
    seed = draw(st.integers(0, 2**32 - 1))
    return graph, x0, x1, p0, p1, seed


MAX_ABS = 1e4  # larger intermediate values are rejected: they leave nothing to compare


def well_scaled(graph, x, p):
    tr = Trace()
    y = plain(graph, x, p, tr)
    assume(np.all(np.isfinite(y)) and tr.max_abs <= MAX_ABS)
    return y, tr


def kw(p):
    return {} if p is None else {"params": p}


def jac2d(tape, J):
    return np.asarray(J).reshape(tape.n_outputs, tape.n_inputs)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


# --- properties ----------------------------------------------------------------------------
