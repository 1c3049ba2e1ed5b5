"""numba_ad against its peers (JAX, CasADi, autograd, PyTorch) on the scale problems: one table.

    .venv/bin/python benchmarks/peers.py                  # full sizes (several minutes)
    .venv/bin/python benchmarks/peers.py --quick          # smaller sizes, fewer rounds
    .venv/bin/python benchmarks/peers.py --only GMM-small --only P4

Needs the optional extra `peers` (jax, casadi, autograd, torch); a peer that is not installed
is left out. Never needed by `make test` (pytest does not collect this file).

Every entry is the median over rounds of a paired ratio: the tool's gradient call divided by
the plain @njit floor (the value only, no gradient) of the same function, timed in the same
round (floor, tool, floor, tool, ...: each tool batch is divided by the geometric mean of the
floor batches around it), because absolute times drift by up to 1.7x on a shared machine.
Every call is made from Python, as a user makes it, floor included. Before timing, every
tool's gradient is checked against the reference (hand-written gradient for P1, P2, P4;
numba_ad's for GMM, once it agrees with finite differences of the floor): a tool that
disagrees is reported WRONG and not timed.

Each tool gets its best ordinary use: JAX and PyTorch keep their inputs as device arrays and
tensors, CasADi is called through Function.buffer() (no copies), numba_ad through
tape.gradient(x) on NumPy arrays. JAX (XLA's defaults), numba_ad's gradient_many and the
hand-written P4 loop may use both cores; PyTorch is held to one thread (see build_torch);
the floors and numba_ad's other calls use one.
"""

import argparse
import atexit
import gc
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import NamedTuple

if "NUMBA_CACHE_DIR" not in os.environ:  # as report.py: a stale cache cannot hide an edit to numba_ad
    _CACHE = tempfile.mkdtemp(prefix="numba_ad_peers_cache_")
    os.environ["NUMBA_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import numba  # noqa: E402
import numpy as np  # noqa: E402

import numba_ad as ad  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ad_bench_problems import PROBLEMS, p2_floor_many, p2_gradient_many_hand, points  # noqa: E402
from gmm import gmm_casadi, gmm_floor, gmm_numpy, gmm_torch, make_data  # noqa: E402
from report import calibrate, per_call  # noqa: E402

TOOLS = ("numba_ad", "hand", "jax", "casadi", "casadi-C", "autograd", "torch")
RTOL = 1e-9
QUICK = False  # set by --quick
CANDIDATE_BUDGET_S = 15.0  # a slow tool gets fewer rounds (at least 3) rather than minutes
C_SOURCE_LIMIT = 4_000_000  # bytes: gcc -O1 took 48 s on 13 MB of CasADi C and crashed on 20 MB
QUICK_C_SOURCE_LIMIT = 1_000_000  # --quick: gcc -O1 took 17 s on 2 MB


class Case(NamedTuple):
    key: str  # what --only names
    label: str
    kind: str  # "vector" (P1, P2), "gmm", "many" (P4)
    problem: str
    size: tuple  # (n,) for vector, (d, K, n) for gmm, (n, N) for many
    target: float  # numba_ad gradient / floor


def cases(quick):
    big, many = (10_000, 10_000) if quick else (100_000, 100_000)
    return [
        Case("P1-1e5", f"P1 gradient n={big}", "vector", "P1", (big,), 3.0),
        Case("P1-1000", "P1 gradient n=1000", "vector", "P1", (1000,), 5.0),
        Case("P1-10", "P1 gradient n=10", "vector", "P1", (10,), 2.0),
        Case("P2-1e5", f"P2 gradient n={big}", "vector", "P2", (big,), 1.5),
        Case("GMM-small", "GMM d=2 K=5 n=1000", "gmm", "GMM", (2, 5, 1000), 2.0),
        Case(
            "GMM-big",
            f"GMM d=10 K=25 n={1000 if quick else 10_000}",
            "gmm",
            "GMM",
            (10, 25, 1000 if quick else 10_000),
            3.0,
        ),
        Case("P4", f"P4 P2 n=10 at N={many} points", "many", "P2", (10, many), 0.7),
    ]


class Skip(Exception):
    """A tool that cannot run a case; the message says why."""


class Candidate(NamedTuple):
    call: Callable  # zero arguments: one gradient call, as timed
    gradient: Callable  # zero arguments: the gradient as a NumPy array, for the check
    setup: str  # tracing / compile times, for the second table


# ---------------------------------------------------------------------------------------
# The problems in array style, for any NumPy-like namespace xp
# ---------------------------------------------------------------------------------------
def p1_xp(x, xp):
    head, tail = x[..., :-1], x[..., 1:]
    return xp.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2, axis=-1)


def p2_xp(x, xp):
    head, tail = x[..., :-1], x[..., 1:]
    q = 1.0 + head**2
    return xp.sum(xp.sin(head) * xp.exp(xp.cos(tail)) / q + xp.log(q), axis=-1)


def p1_casadi(x):
    import casadi as ca

    head, tail = x[:-1], x[1:]
    return ca.sum1(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)


def p2_casadi(x):
    import casadi as ca

    head, tail = x[:-1], x[1:]
    q = 1.0 + head**2
    return ca.sum1(ca.sin(head) * ca.exp(ca.cos(tail)) / q + ca.log(q))


XP = {"P1": p1_xp, "P2": p2_xp}
CASADI = {"P1": p1_casadi, "P2": p2_casadi}


class Data(NamedTuple):
    floor: Callable  # zero arguments, timed
    x_rec: np.ndarray  # where tapes are recorded (P4: one point)
    x: np.ndarray  # where gradients are taken (P4: (N, n))
    reference: np.ndarray  # the gradient every tool must give
    extra: dict


def make_case_data(case):
    if case.kind == "vector":
        (n,) = case.size
        x_rec, x = points(n)
        problem = PROBLEMS[case.problem]
        g = np.empty(n)
        problem.value_and_grad(x, g)
        return Data(lambda: problem.floor(x), x_rec, x, g, {})
    if case.kind == "many":
        n, N = case.size
        X = np.random.default_rng([20240613, n, N]).uniform(-1.0, 1.0, (N, n))
        out, G = np.empty(N), np.empty((N, n))
        p2_gradient_many_hand(X, G)
        return Data(lambda: p2_floor_many(X, out), X[0] * 0.5, X, G, {})
    d, K, n = case.size
    D = make_data(d, K, n)
    floor = lambda: gmm_floor(D.p_rep, D.x, K, d)  # noqa: E731
    return Data(floor, D.p_rec, D.p_rep, None, dict(D=D))


# ---------------------------------------------------------------------------------------
# Tools: each builder returns a Candidate or raises Skip
# ---------------------------------------------------------------------------------------
def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def faster(calls):
    """(dense, call, note): the faster of the GMM formulations {False: rows, True: dense einsum}."""
    best = {}
    for dense, call in calls.items():
        call()
        best[dense] = min(timed(call)[1] for _ in range(3))
    dense = min(best, key=best.get)
    return (
        dense,
        calls[dense],
        (
            f"{'dense einsum' if dense else 'row-by-row'} formulation "
            f"(time dense / row-by-row {best[True] / best[False]:.2f})"
        ),
    )


def build_numba_ad(case, data):
    if case.kind == "gmm":
        D = data.extra["D"]
        f = lambda p: gmm_numpy(p, D.x, D.K, D.d)  # noqa: E731
    else:
        f = lambda x: XP[case.problem](x, np)  # noqa: E731
    tape, t_trace = timed(lambda: ad.trace(f, data.x_rec))
    tape, t_opt = timed(tape.optimize)
    try:  # the tape written out as numba loops; a tape with too little structure stays a tape
        runner, t_compile = timed(tape.compile)
        how = f"compile {t_compile:.2f} s"
    except ad.NotCompilable as error:
        runner, how = tape, f"not compiled ({str(error).split(':')[0]})"
    if case.kind == "many":
        call = lambda: runner.gradient_many(data.x)  # noqa: E731
    elif case.size == (10,) and hasattr(runner, "gradient_into"):
        g = np.empty_like(data.x)  # from Python: into a buffer, as CasADi's Function.buffer()
        call = lambda: (runner.gradient_into(data.x, g), g)[1]  # noqa: E731
    else:
        call = lambda: runner.gradient(data.x)  # noqa: E731
    _, t_first = timed(call)
    setup = f"trace {t_trace:.2f} s, optimize {t_opt:.2f} s, {how}"
    setup += f", first call {t_first:.2f} s ({tape.n_ops} ops)"
    return Candidate(call, call, setup)


def build_hand(case, data):
    if case.kind == "gmm":
        raise Skip("no hand-written GMM gradient")
    if case.kind == "many":
        G = np.empty_like(data.x)
        call = lambda: p2_gradient_many_hand(data.x, G)  # noqa: E731
        return Candidate(call, lambda: (call(), G)[1], "@njit(parallel=True) prange over points")
    g = np.empty_like(data.x)
    vg = PROBLEMS[case.problem].value_and_grad
    return Candidate(lambda: vg(data.x, g), lambda: (vg(data.x, g), g)[1], "hand-written @njit")


def build_jax(case, data):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x = jnp.asarray(data.x)
    if case.kind == "gmm":
        D = data.extra["D"]
        xj = jnp.asarray(D.x)
        fns = {
            dense: jax.jit(jax.grad(lambda p, dense=dense: gmm_numpy(p, xj, D.K, D.d, jnp, dense)))
            for dense in (False, True)
        }
        calls = {dense: (lambda fn=fn: fn(x).block_until_ready()) for dense, fn in fns.items()}
        first = {dense: timed(call)[1] for dense, call in calls.items()}
        dense, call, note = faster(calls)
        setup = f"first call (trace + XLA compile) {first[dense]:.2f} s; {note}"
    else:
        if case.kind == "many":
            fn = jax.jit(jax.vmap(jax.grad(lambda x: p2_xp(x, jnp))))
        else:
            fn = jax.jit(jax.grad(lambda x: XP[case.problem](x, jnp)))
        call = lambda: fn(x).block_until_ready()  # noqa: E731
        setup = f"first call (trace + XLA compile) {timed(call)[1]:.2f} s"
    return Candidate(call, lambda: np.asarray(call()), setup)


def _casadi_gradient(case, data):
    """(gradient Function, build seconds): SX for P1/P2; a per-point SX function mapped over the points for GMM, P4."""
    import casadi as ca

    t0 = time.perf_counter()
    if case.kind == "gmm":
        D = data.extra["D"]
        F = gmm_casadi(D.K, D.d, D.x, expand=False)
        p = ca.MX.sym("p", F.size1_in(0))
        G = ca.Function("g", [p], [ca.gradient(F(p), p)])
    elif case.kind == "many":
        n, N = case.size
        x = ca.SX.sym("x", n)
        point = ca.Function("gp", [x], [ca.gradient(CASADI[case.problem](x), x)])
        G = point.map(N, "serial")  # X (N, n) in C order is (n, N) column-major: CasADi's layout, no copy
    else:
        x = ca.SX.sym("x", case.size[0])
        G = ca.Function("g", [x], [ca.gradient(CASADI[case.problem](x), x)])
    return G, time.perf_counter() - t0


def _casadi_candidate(G, data, setup):
    g = np.empty(data.x.shape)
    buf, evaluate = G.buffer()
    buf.set_arg(0, memoryview(data.x))
    buf.set_res(0, memoryview(g))
    call = lambda: (evaluate(), buf)[0]  # noqa: E731  keeps buf, and the memory it points to, alive
    return Candidate(call, lambda: (call(), g.copy())[1], setup)


def build_casadi(case, data):
    G, t_build = _casadi_gradient(case, data)
    setup = f"build {t_build:.2f} s"
    if case.kind == "gmm" and case.size[2] * case.size[1] * case.size[0] ** 2 <= 100_000:
        G, t_expand = timed(G.expand)  # one flat SX: about 1.4x faster on GMM-small, 10 GB at GMM-big
        setup += f", expand {t_expand:.2f} s"
    elif case.kind == "gmm":
        setup += " (map over points, not expanded: 1 GB per 1000 points expanded)"
    return _casadi_candidate(G, data, setup)


def build_casadi_c(case, data):
    G, t_build = _casadi_gradient(case, data)
    work = Path(tempfile.mkdtemp(prefix="numba_ad_peers_casadi_"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    source, t_gen = timed(lambda: G.generate("peers_grad.c"))
    source = Path(source)
    size = source.stat().st_size
    limit = QUICK_C_SOURCE_LIMIT if QUICK else C_SOURCE_LIMIT
    if size > limit:
        source.unlink()
        raise Skip(f"{size / 1e6:.1f} MB of C, over the {limit / 1e6:.0f} MB limit (gcc time grows faster than size)")
    shutil.move(source, work / source.name)
    library = work / "peers_grad.so"
    opt = "-O2" if size <= 1_000_000 else "-O1"  # -O2 on MBs of straight-line code is much slower
    _, t_gcc = timed(
        lambda: subprocess.run(
            ["gcc", opt, "-shared", "-fPIC", str(work / source.name), "-o", str(library), "-lm"],
            check=True,
            capture_output=True,
        )
    )
    import casadi as ca

    E = ca.external(G.name(), str(library))
    setup = f"build {t_build:.2f} s, generate {t_gen:.2f} s, gcc {opt} {t_gcc:.2f} s ({size / 1e6:.1f} MB)"
    return _casadi_candidate(E, data, setup)


def build_autograd(case, data):
    import autograd
    import autograd.numpy as anp

    setup = "none (records at every call)"
    if case.kind == "gmm":
        D = data.extra["D"]
        fns = {
            dense: autograd.grad(lambda p, dense=dense: gmm_numpy(p, D.x, D.K, D.d, anp, dense))
            for dense in (False, True)
        }
        dense, call, note = faster({dense: (lambda fn=fn: fn(data.x)) for dense, fn in fns.items()})
        return Candidate(call, call, f"{setup}; {note}")
    if case.kind == "many":  # rows are independent: the gradient of the sum holds each row's gradient
        fn = autograd.grad(lambda X: anp.sum(p2_xp(X, anp)))
    else:
        fn = autograd.grad(lambda x: XP[case.problem](x, anp))
    call = lambda: fn(data.x)  # noqa: E731
    return Candidate(call, call, setup)


def build_torch(case, data):
    import torch

    # One thread: with two on this shared 2-core machine, while another process kept a core busy,
    # OpenMP's threads waited on each other and calls took ~100x longer (P2 n=1e4: 33 ms, 0.33 ms).
    torch.set_num_threads(1)
    x = torch.from_numpy(data.x.copy()).requires_grad_()
    setup = "none (records at every call; 1 thread)"
    if case.kind == "gmm":
        D = data.extra["D"]
        xt = torch.from_numpy(D.x)
        calls = {
            dense: (lambda dense=dense: torch.autograd.grad(gmm_torch(x, xt, D.K, D.d, dense), x)[0])
            for dense in (False, True)
        }
        dense, call, note = faster(calls)
        setup += f"; {note}"
    else:
        if case.kind == "many":
            f = lambda: p2_xp(x, torch).sum()  # noqa: E731
        else:
            f = lambda: XP[case.problem](x, torch)  # noqa: E731
        call = lambda: torch.autograd.grad(f(), x)[0]  # noqa: E731
    return Candidate(call, lambda: call().numpy(), setup)


BUILDERS = {
    "numba_ad": build_numba_ad,
    "hand": build_hand,
    "jax": build_jax,
    "casadi": build_casadi,
    "casadi-C": build_casadi_c,
    "autograd": build_autograd,
    "torch": build_torch,
}
MODULES = {"jax": "jax", "casadi": "casadi", "casadi-C": "casadi", "autograd": "autograd", "torch": "torch"}


def available_tools():
    tools, missing = [], []
    for tool in TOOLS:
        module = MODULES.get(tool)
        try:
            if module:
                __import__(module)
            if tool == "casadi-C" and shutil.which("gcc") is None:
                raise ImportError("gcc")
            tools.append(tool)
        except ImportError as e:
            missing.append(f"{tool} ({e.name or e})")
    return tools, missing


# ---------------------------------------------------------------------------------------
# Checking and timing
# ---------------------------------------------------------------------------------------
def gmm_reference(data, candidates):
    """(tool, gradient): the first tool (numba_ad first) whose GMM gradient agrees with central
    differences of the floor along a random direction; (None, None) if none does."""
    D = data.extra["D"]
    v = np.random.default_rng(7).normal(size=D.p_rep.shape[0])
    h = 1e-5  # f is O(n): rounding in the difference is about n 1e-16 / h
    fd = (gmm_floor(D.p_rep + h * v, D.x, D.K, D.d) - gmm_floor(D.p_rep - h * v, D.x, D.K, D.d)) / (2 * h)
    for tool, candidate in candidates.items():
        g = np.asarray(candidate.gradient(), dtype=float)
        if abs(g @ v - fd) <= 1e-6 * abs(fd):
            return tool, g
        log(f"{tool}'s GMM gradient disagrees with finite differences: {g @ v} against {fd}")
    return None, None


def check(candidate, reference):
    g = np.asarray(candidate.gradient(), dtype=float).reshape(reference.shape)
    np.testing.assert_allclose(g, reference, rtol=RTOL, atol=RTOL * np.abs(reference).max())


def paired(floor, candidates, rounds, batch_s):
    """{name: paired ratios}, and the floor's median time: floor, cand, floor, cand, ... per round."""
    k_floor = calibrate(floor, batch_s)
    ks = {name: calibrate(fn, batch_s) for name, fn in candidates.items()}
    t_one = {name: per_call(fn, ks[name]) * ks[name] for name, fn in candidates.items()}
    n_rounds = {name: max(3, min(rounds, int(CANDIDATE_BUDGET_S / max(t, 1e-9)))) for name, t in t_one.items()}
    ratios = {name: [] for name in candidates}
    floor_times = []
    names = list(candidates)
    for r in range(rounds):
        order = [nm for nm in (names if r % 2 == 0 else names[::-1]) if r < n_rounds[nm]]
        before = per_call(floor, k_floor)
        floor_times.append(before)
        for name in order:
            t = per_call(candidates[name], ks[name])
            after = per_call(floor, k_floor)
            floor_times.append(after)
            ratios[name].append(t / (before * after) ** 0.5)
            before = after
    return ratios, median(floor_times)


def log(msg):
    print(f"  ... {msg}", file=sys.stderr, flush=True)


def fmt_time(s):
    return f"{s * 1e9:.0f} ns" if s < 1e-6 else f"{s * 1e6:.1f} us" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def run_case(case, tools, rounds, batch_s):
    """(cells {tool: str}, setups {tool: str}, floor seconds, numba_ad ratio or None)."""
    data = make_case_data(case)
    data.floor()  # compile
    cells, setups, candidates = {}, {}, {}
    for tool in tools:
        log(f"{case.key}: {tool}")
        try:
            candidates[tool] = BUILDERS[tool](case, data)
            setups[tool] = candidates[tool].setup
        except Skip as e:
            cells[tool], setups[tool] = "skip", f"skipped: {e}"
        except Exception as e:  # a peer that fails on a problem must not stop the others
            cells[tool], setups[tool] = "FAIL", f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    reference = data.reference
    if reference is None:  # GMM: numba_ad's gradient, checked against the floor
        tool, reference = gmm_reference(data, candidates)
        if tool is None:
            return {t: cells.get(t, "WRONG") for t in tools}, setups, None, None
        if tool != "numba_ad":
            log(f"{case.key}: the reference gradient is {tool}'s")
    for tool in list(candidates):
        try:
            check(candidates[tool], reference)
        except AssertionError as e:
            cells[tool] = "WRONG"
            setups[tool] += f"; WRONG: {str(e).strip().splitlines()[-1][:120]}"
            del candidates[tool]
    gc.collect()
    log(f"{case.key}: timing {', '.join(candidates)}")
    ratios, t_floor = paired(data.floor, {t: c.call for t, c in candidates.items()}, rounds, batch_s)
    for tool, r in ratios.items():
        cells[tool] = f"{median(r):.2f}x"
    numba_ad_ratio = median(ratios["numba_ad"]) if "numba_ad" in ratios else None
    return cells, setups, t_floor, numba_ad_ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (1e4 for 1e5), 3 rounds")
    parser.add_argument(
        "--only",
        action="append",
        metavar="PROBLEM",
        help="run only this problem (repeatable): " + ", ".join(c.key for c in cases(False)),
    )
    parser.add_argument("--tools", help="comma-separated subset of " + ",".join(TOOLS))
    args = parser.parse_args()
    global QUICK
    QUICK = args.quick
    rounds, batch_s = (3, 0.02) if args.quick else (9, 0.1)
    selected = cases(args.quick)
    if args.only:
        keys = {c.key.lower(): c for c in selected}
        unknown = [k for k in args.only if k.lower() not in keys]
        if unknown:
            parser.error(f"unknown problem(s) {unknown}; choose from {list(keys)}")
        selected = [keys[k.lower()] for k in args.only]
    tools, missing = available_tools()
    if args.tools:
        tools = [t for t in tools if t in args.tools.split(",")]

    started = time.perf_counter()
    rows = []
    for case in selected:
        rows.append((case, *run_case(case, tools, rounds, batch_s)))

    print(
        f"numba_ad vs peers ({'quick' if args.quick else 'full'} mode): gradient time / floor time, median of "
        f"{rounds} paired rounds"
    )
    versions = [f"numba {numba.__version__}", f"numpy {np.__version__}"]
    for dist in ("jax", "jaxlib", "casadi", "autograd", "torch"):
        try:
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    print(f"  Python {platform.python_version()}, {', '.join(versions)}, {os.cpu_count()} CPUs")
    if missing:
        print(f"  not installed: {', '.join(missing)}")
    width = max(len(c.label) for c in selected)
    header = f"{'problem':{width}} {'floor':>9} " + " ".join(f"{t:>9}" for t in tools) + "  target  numba_ad"
    print(header)
    for case, cells, setups, t_floor, ratio in rows:
        status = "-" if ratio is None else ("ok" if ratio <= case.target else "MISS")
        floor = fmt_time(t_floor) if t_floor is not None else "-"
        print(
            f"{case.label:{width}} {floor:>9} "
            + " ".join(f"{cells.get(t, '-'):>9}" for t in tools)
            + f"  <={case.target:<4g}  {status}"
        )
    print(
        "  hand: hand-written @njit gradient (P4: prange over points); casadi: SX virtual machine;"
        " casadi-C: CasADi's generated C, gcc"
    )
    print()
    print("Set-up cost per tool (tracing, compiling; paid once per function):")
    for case, cells, setups, *_ in rows:
        print(f"  {case.label}")
        for tool in tools:
            if tool in setups:
                print(f"    {tool:9} {setups[tool]}")
    print(f"\n(peers.py took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
