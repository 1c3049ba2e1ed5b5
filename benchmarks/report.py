"""One-shot performance report for numba_ad: every figure the targets name, in one run.

    .venv/bin/python benchmarks/report.py            # full: n = 10, 1000, 100000 (~2-3 min)
    .venv/bin/python benchmarks/report.py --quick    # n = 10, 1000, fewer rounds (smoke run)

The machine this runs on is shared and noisy (absolute times drift up to ~1.7x within a
minute), so replay figures are RATIOS to the floor, a plain @njit f(x), timed in the same
rounds: each round times floor, candidate, floor, candidate, ... (batches of calls sized to
a few ms), and every candidate batch is divided by the geometric mean of the two floor
batches around it. A figure is the median of those paired ratios over all rounds, with the
25th-75th percentile range beside it.

Two ways of calling are measured:
  "from Python"  each call goes through numba's dispatcher (typeof + unboxing of the
                 arguments), as a user calling drivers.* or tape.gradient pays;
  "in @njit"     an @njit loop calls the kernel k times (no dispatch): the sweep alone.

Absolute figures (ns per recorded op, tracing us per op, cold/warm start) are also printed,
because the targets are written that way; they drift with the machine.

Unless NUMBA_CACHE_DIR is already set, the report compiles into a fresh temporary cache
directory (removed at exit), so a stale cache cannot hide an edit to the library.
"""

import argparse
import atexit
import gc
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from statistics import median

if "NUMBA_CACHE_DIR" not in os.environ:  # must happen before numba is imported
    _CACHE = tempfile.mkdtemp(prefix="numba_ad_report_cache_")
    os.environ["NUMBA_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    CACHE_NOTE = "fresh temporary NUMBA_CACHE_DIR"
else:
    CACHE_NOTE = f"NUMBA_CACHE_DIR={os.environ['NUMBA_CACHE_DIR']} (given by the caller)"

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

import numba_ad as ad  # noqa: E402
from numba_ad.tape import drivers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ad_bench_problems import PROBLEMS, driver_buffers, points  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TARGETS = dict(p1_grad_ratio=15.0, grad_ns_per_op=6.0, trace_us_per_op=2.0, cold_s=10.0, warm_s=1.0)


# ---------------------------------------------------------------------------------------
# @njit harnesses: call a kernel k times inside compiled code (no dispatch per call)
# ---------------------------------------------------------------------------------------
@njit
def loop_floor(f, x, k):
    # x[0] is rewritten with a value that depends on the last result (0.0 * s is not
    # foldable under IEEE rules), so LLVM cannot hoist the pure call out of the loop.
    x0 = x[0]
    s = 0.0
    for _ in range(k):
        s += f(x)
        x[0] = x0 + 0.0 * s
    x[0] = x0
    return s


@njit
def loop_hand(f, x, g, k):
    s = 0.0
    for _ in range(k):
        s += f(x, g)
    return s


@njit
def loop_primal(arrays, x, p, w, out, k):
    failed = 0
    for _ in range(k):
        failed += drivers.eval_into(arrays, x, p, w, out)
    return failed


@njit
def loop_grad(arrays, x, p, w, d_a, d_b, w_bar, g, k):
    s = 0.0
    for _ in range(k):
        value, failed = drivers.value_and_gradient_into(arrays, x, p, w, d_a, d_b, w_bar, g)
        s += value + failed
    return s


@njit
def dispatch_probe_tape(arrays, x, p, w, d_a, d_b, w_bar, g):
    """Does nothing: calling it from Python costs what the dispatcher costs for this signature."""
    return 0.0, -1


@njit
def dispatch_probe_x(x):
    return 0.0


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
def per_call(fn, k):
    """Seconds per call of fn() over a batch of k calls."""
    t0 = time.perf_counter()
    for _ in range(k):
        fn()
    return (time.perf_counter() - t0) / k


def calibrate(fn, batch_s):
    """Calls per batch so that a batch takes about batch_s."""
    k = 1
    while True:
        t = per_call(fn, k) * k
        if t >= batch_s / 4 or k >= 1 << 22:
            return max(1, int(k * batch_s / max(t, 1e-9)))
        k *= 4


class Paired:
    """Interleaved timing of candidates against a reference, paired ratios per round."""

    def __init__(self, reference, candidates, rounds, batch_s):
        self.ref = reference  # zero-argument callable
        self.cands = candidates  # {name: zero-argument callable}
        self.rounds = rounds
        self.batch_s = batch_s

    def run(self):
        k_ref = calibrate(self.ref, self.batch_s)
        ks = {name: calibrate(fn, self.batch_s) for name, fn in self.cands.items()}
        ratios = {name: [] for name in self.cands}
        times = {name: [] for name in self.cands}
        ref_times = []
        names = list(self.cands)
        for r in range(self.rounds):
            order = names if r % 2 == 0 else names[::-1]  # alternate order: no fixed position bias
            before = per_call(self.ref, k_ref)
            ref_times.append(before)
            for name in order:
                t = per_call(self.cands[name], ks[name])
                after = per_call(self.ref, k_ref)
                ref_times.append(after)
                times[name].append(t)
                ratios[name].append(t / (before * after) ** 0.5)
                before = after
        return ref_times, times, ratios


def q(values, p):
    return float(np.percentile(values, p))


def fmt_time(s):
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(values):
    return f"{median(values):7.2f}x [{q(values, 25):.2f}-{q(values, 75):.2f}]"


def log(msg):
    print(f"  ... {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
def measure_tracing(name, n, repeats):
    """(tape, list of ad.trace seconds) at the recording point."""
    f = PROBLEMS[name].traced
    x_rec, _ = points(n)
    times, tape = [], None
    for _ in range(repeats):
        tape = None
        gc.collect()
        t0 = time.perf_counter()
        tape = ad.trace(f, x_rec)
        times.append(time.perf_counter() - t0)
    return tape, times


def check(name, n, tape):
    """Correctness before timing: tape gradient == hand-written gradient at the replay point."""
    problem = PROBLEMS[name]
    _, x_rep = points(n)
    g_hand = np.empty(n)
    v_hand = problem.value_and_grad(x_rep, g_hand)
    v, g = tape.value_and_gradient(x_rep)
    np.testing.assert_allclose(v, v_hand, rtol=1e-12)
    np.testing.assert_allclose(g, g_hand, rtol=1e-10)
    np.testing.assert_allclose(tape.eval(x_rep), problem.floor(x_rep), rtol=1e-12)


def measure_replay(name, n, tape, rounds, batch_s):
    problem = PROBLEMS[name]
    _, x = points(n)
    x = x.copy()
    b = driver_buffers(tape)
    arrays, p, w, d_a, d_b, w_bar, out = tape.arrays, b["p"], b["w"], b["d_a"], b["d_b"], b["w_bar"], b["out"]
    g_hand, g = np.empty(n), b["g"]
    floor, vg = problem.floor, problem.value_and_grad

    def py_floor():
        floor(x)

    python = {
        "hand": lambda: vg(x, g_hand),
        "primal": lambda: drivers.eval_into(arrays, x, p, w, out),
        "grad": lambda: drivers.value_and_gradient_into(arrays, x, p, w, d_a, d_b, w_bar, g),
        "tape.gradient": lambda: tape.gradient(x),
    }

    def nj_floor():
        loop_floor(floor, x, 64)

    def nj(fn, *args):
        return lambda: fn(*args, 64)

    in_njit = {
        "hand": nj(loop_hand, vg, x, g_hand),
        "primal": nj(loop_primal, arrays, x, p, w, out),
        "grad": nj(loop_grad, arrays, x, p, w, d_a, d_b, w_bar, g),
    }
    for fn in [py_floor, nj_floor, *python.values(), *in_njit.values()]:
        fn()  # compile everything before any timing
    ref_py, t_py, r_py = Paired(py_floor, python, rounds, batch_s).run()
    ref_nj, t_nj, r_nj = Paired(nj_floor, in_njit, rounds, batch_s).run()
    # in-njit batches run 64 calls per harness call: per kernel call
    t_nj = {k: [t / 64 for t in v] for k, v in t_nj.items()}
    ref_nj = [t / 64 for t in ref_nj]
    return dict(ref_py=ref_py, t_py=t_py, r_py=r_py, ref_nj=ref_nj, t_nj=t_nj, r_nj=r_nj)


def measure_dispatch(tape, n, rounds, batch_s):
    """Seconds per call of empty @njit functions with the drivers' and the floor's signatures."""
    _, x = points(n)
    b = driver_buffers(tape)
    args = (tape.arrays, x, b["p"], b["w"], b["d_a"], b["d_b"], b["w_bar"], b["g"])
    dispatch_probe_tape(*args)
    dispatch_probe_x(x)
    ref, times, ratios = Paired(
        lambda: dispatch_probe_x(x), {"tape": lambda: dispatch_probe_tape(*args)}, rounds, batch_s
    ).run()
    return median(ref), median(times["tape"])


COLD_SCRIPT = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    import numba_ad as ad
    t1 = time.perf_counter()
    def p1(x):
        return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(len(x) - 1))
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 10)
    tape = ad.trace(p1, x)
    t2 = time.perf_counter()
    g = tape.gradient(x)
    t3 = time.perf_counter()
    assert g.shape == (10,) and np.all(np.isfinite(g))
    print(json.dumps(dict(import_s=t1 - t0, trace_s=t2 - t1, gradient_s=t3 - t2, total_s=t3 - t0)))
""")


def start_run(cache_dir):
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache_dir
    for var in ("NUMBA_AD_CACHE", "NUMBA_DISABLE_JIT"):  # measure the default configuration
        env.pop(var, None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", COLD_SCRIPT],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"start-up subprocess failed:\n{proc.stderr}")
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    inner["process_wall_s"] = wall
    return inner


def measure_startup(n_cold, n_warm):
    """n_cold runs, each with a new empty cache dir; n_warm runs reusing the first one's cache."""
    colds, warms = [], []
    for i in range(n_cold):
        cache = tempfile.mkdtemp(prefix="numba_ad_cold_")
        try:
            colds.append(start_run(cache))
            if i == 0:
                warms = [start_run(cache) for _ in range(n_warm)]
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return colds, warms


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------
def source_state():
    try:
        head = subprocess.run(
            ["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "numba_ad"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        head, dirty = "?", ""
    digest = hashlib.sha256()
    for path in sorted((REPO / "numba_ad").glob("*.py")):
        digest.update(path.read_bytes())
    return (
        f"commit {head or '?'}{' + uncommitted edits in numba_ad/' if dirty else ''}, "
        f"numba_ad/*.py sha256 {digest.hexdigest()[:12]}"
    )


def status(value, target):
    return "ok" if value <= target else "MISS"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 10, 1000 only; fewer rounds")
    args = parser.parse_args()
    quick = args.quick
    sizes = (10, 1000) if quick else (10, 1000, 100_000)
    rounds = 7 if quick else 21
    batch_s = 0.002 if quick else 0.004
    trace_repeats = {10: 3, 1000: 3 if quick else 7, 100_000: 3}
    big = sizes[-1]
    started = time.perf_counter()

    # -- tracing (also makes the tapes) ----------------------------------------------------
    tapes, trace_times = {}, {}
    for name in PROBLEMS:
        for n in sizes:
            log(f"tracing {name} n={n}")
            tapes[name, n], trace_times[name, n] = measure_tracing(name, n, trace_repeats[n])
            check(name, n, tapes[name, n])

    # -- replay ------------------------------------------------------------------------------
    replay = {}
    for name in PROBLEMS:
        for n in sizes:
            log(f"replay {name} n={n}")
            replay[name, n] = measure_replay(name, n, tapes[name, n], rounds, batch_s)
    dispatch_x, dispatch_tape = measure_dispatch(tapes["P1", 10], 10, rounds, batch_s)

    # -- start-up ----------------------------------------------------------------------------
    log("cold / warm start subprocesses")
    colds, warms = measure_startup(1 if quick else 2, 1 if quick else 3)
    elapsed = time.perf_counter() - started

    # -- print -------------------------------------------------------------------------------
    out = []
    p = out.append
    p(f"numba_ad performance report ({'quick' if quick else 'full'} mode)")
    p(f"  {source_state()}")
    p(
        f"  Python {platform.python_version()}, numba {numba.__version__}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); {CACHE_NOTE}"
    )
    p(
        f"  {rounds} rounds per size, batches of ~{batch_s * 1e3:.0f} ms; ratio = median of paired "
        f"ratios [25th-75th percentile]"
    )
    p("")
    p("Replay, called from Python (each call pays numba dispatch), ratio to the floor f(x):")
    hdr = (
        f"{'problem':7} {'n':>6} {'n_ops':>8} {'floor':>9}  {'hand grad/floor':>22}  "
        f"{'primal eval_into/floor':>22}  {'grad value_and_gradient_into':>28}  {'tape.gradient(x)/floor':>22}"
    )
    p(hdr)
    for (name, n), r in replay.items():
        p(
            f"{name:7} {n:>6} {tapes[name, n].n_ops:>8} {fmt_time(median(r['ref_py'])):>9}  "
            f"{fmt_ratio(r['r_py']['hand']):>22}  {fmt_ratio(r['r_py']['primal']):>22}  "
            f"{fmt_ratio(r['r_py']['grad']):>28}  {fmt_ratio(r['r_py']['tape.gradient']):>22}"
        )
    p("")
    p(
        "Replay, kernels called inside an @njit loop (no dispatch: the sweeps alone), "
        "ratio to the floor in the same loop:"
    )
    p(
        f"{'problem':7} {'n':>6} {'n_ops':>8} {'floor':>9}  {'hand grad/floor':>22}  "
        f"{'primal/floor':>22}  {'grad/floor':>28}"
    )
    for (name, n), r in replay.items():
        p(
            f"{name:7} {n:>6} {tapes[name, n].n_ops:>8} {fmt_time(median(r['ref_nj'])):>9}  "
            f"{fmt_ratio(r['r_nj']['hand']):>22}  {fmt_ratio(r['r_nj']['primal']):>22}  "
            f"{fmt_ratio(r['r_nj']['grad']):>28}"
        )
    p("")
    p(
        f"Dispatch cost of an empty @njit function called from Python: f(x) {fmt_time(dispatch_x)}, "
        f"f(tape.arrays, x, p, w, d_a, d_b, w_bar, g) {fmt_time(dispatch_tape)}"
    )
    p("")
    p(f"Time per recorded op at n={big} (median time / tape.n_ops; absolute, drifts with the machine):")
    p(
        f"{'problem':7} {'n_ops':>8} {'primal (py)':>12} {'primal (njit)':>14} {'grad (py)':>10} "
        f"{'grad (njit)':>12} {'tape.gradient':>14} {'floor':>8}   ns/op"
    )
    ns = {}
    for name in PROBLEMS:
        r, n_ops = replay[name, big], tapes[name, big].n_ops
        row = dict(
            primal_py=median(r["t_py"]["primal"]),
            primal_nj=median(r["t_nj"]["primal"]),
            grad_py=median(r["t_py"]["grad"]),
            grad_nj=median(r["t_nj"]["grad"]),
            tape=median(r["t_py"]["tape.gradient"]),
            floor=median(r["ref_py"]),
        )
        ns[name] = {k: v / n_ops * 1e9 for k, v in row.items()}
        v = ns[name]
        p(
            f"{name:7} {n_ops:>8} {v['primal_py']:>12.2f} {v['primal_nj']:>14.2f} {v['grad_py']:>10.2f} "
            f"{v['grad_nj']:>12.2f} {v['tape']:>14.2f} {v['floor']:>8.2f}"
        )
    p("  (floor column: the floor's time divided by the tape's n_ops, for scale)")
    p("")
    p("Tracing, ad.trace(f, x_rec) (absolute; median [min] over repeats):")
    p(f"{'problem':7} {'n':>6} {'n_ops':>8} {'repeats':>7} {'time':>10} {'us/op':>14}")
    for (name, n), times in trace_times.items():
        n_ops = tapes[name, n].n_ops
        p(
            f"{name:7} {n:>6} {n_ops:>8} {len(times):>7} {fmt_time(median(times)):>10} "
            f"{median(times) / n_ops * 1e6:>6.2f} [{min(times) / n_ops * 1e6:.2f}]"
        )
    p("")
    p("Start-up: a subprocess (sys.executable) runs import numba_ad; trace P1 n=10; tape.gradient(x)")
    for label, runs in (("cold (fresh empty NUMBA_CACHE_DIR)", colds), ("warm (same cache dir again)", warms)):
        for run in runs:
            p(
                f"  {label:36} import {run['import_s']:6.2f} s  trace {run['trace_s']:6.3f} s  first gradient "
                f"{run['gradient_s']:6.2f} s  = {run['total_s']:6.2f} s in process, {run['process_wall_s']:6.2f} s "
                f"process wall"
            )
    p("")

    cold = median([r["total_s"] for r in colds])
    warm = median([r["total_s"] for r in warms])
    rows = []
    for name in PROBLEMS:
        r = replay[name, big]
        for how, key in (("driver", "grad"), ("tape.gradient", "tape.gradient")):
            value = median(r["r_py"][key])
            target = TARGETS["p1_grad_ratio"] if name == "P1" else None
            rows.append(
                (
                    f"{name} n={big} gradient / floor ({how})",
                    f"{value:.1f}x",
                    f"<= {TARGETS['p1_grad_ratio']:.0f}x" if target else "-",
                    status(value, target) if target else "-",
                )
            )
    for name in PROBLEMS:
        value = ns[name]["grad_py"]
        rows.append(
            (
                f"{name} n={big} primal+adjoint ns/op (driver)",
                f"{value:.2f} ns",
                f"<= {TARGETS['grad_ns_per_op']:.0f} ns",
                status(value, TARGETS["grad_ns_per_op"]),
            )
        )
    for name in PROBLEMS:
        rows.append((f"{name} n={big} primal ns/op (driver)", f"{ns[name]['primal_py']:.2f} ns", "-", "-"))
    for name in PROBLEMS:
        for n in sizes:
            if n < 1000:
                continue
            value = median(trace_times[name, n]) / tapes[name, n].n_ops * 1e6
            rows.append(
                (
                    f"{name} n={n} tracing us/op",
                    f"{value:.2f} us",
                    f"<= {TARGETS['trace_us_per_op']:.0f} us",
                    status(value, TARGETS["trace_us_per_op"]),
                )
            )
    rows.append(
        (
            "cold start: import + trace + first gradient",
            f"{cold:.2f} s",
            f"<= {TARGETS['cold_s']:.0f} s",
            status(cold, TARGETS["cold_s"]),
        )
    )
    rows.append(
        (
            "warm start: same, populated cache",
            f"{warm:.2f} s",
            f"<= {TARGETS['warm_s']:.0f} s",
            status(warm, TARGETS["warm_s"]),
        )
    )
    p("Targets" + ("" if big == 100_000 else f" (quick mode: n={big} stands in for n=100000)") + ":")
    p(f"  {'figure':48} {'measured':>10} {'target':>10}  status")
    for label, value, target, st in rows:
        p(f"  {label:48} {value:>10} {target:>10}  {st}")
    p("")
    p(f"(report took {elapsed:.0f} s)")
    print("\n".join(out))


if __name__ == "__main__":
    main()
