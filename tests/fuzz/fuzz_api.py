"""Fuzz target: corrupted tape files and bad arguments against every entry point, counted.

Run it as a script (each batch in its own subprocess, so that a crash is counted rather than
ending the run; ``NUMBA_BOUNDSCHECK=1`` there turns a read or write outside an array into an
IndexError, counted as out of bounds):

    .venv/bin/python -m tests.fuzz.fuzz_api --cases 2000 --seed 1

and it prints, for mutated tapes and for bad arguments, how many calls ended in

* ``refused``: a ValueError or TypeError (the contract: a clear error before any kernel runs),
* ``accepted``: a mutated tape that passed validation and then answered every request without
  an error (a mutation can make another valid tape: x + y into x * y),
* ``unclear``: any other exception (AttributeError, KeyError, ZeroDivisionError ...),
* ``out_of_bounds``: an IndexError raised by numba's bounds checking inside a kernel,
* ``silent``: a bad argument that gave an answer instead of an error,
* ``crashed``: the subprocess died (a segmentation fault, an abort).

A strided output buffer is not a bad argument: it counts with the refused when it is written
exactly as a contiguous one, as silent otherwise. A short run in ``make test``
(tests/fuzz/test_fuzz_api.py) requires zero of the last four.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BAD = ("unclear", "out_of_bounds", "silent", "crashed")
INTERESTING = (-1, -2, 0, 1, 2, 3, 7, 255, 10**6, 2**31 - 1, -(2**31))


def _tapes():
    import numba_ad as ad
    from tests._support.small_functions import branchy, p2, vector_f

    return {
        "p2": (ad.trace(p2, np.linspace(0.2, 1.0, 4)), None),
        "vector": (ad.trace(vector_f, np.array([0.3, 0.7, 1.1]), params=np.array([2.0, 0.5])), np.array([1.5, -0.5])),
        "branchy": (ad.trace(branchy, np.array([0.5, 1.0, 2.0])), None),
    }


def _classify(call) -> str:
    try:
        call()
    except IndexError as error:
        if "out of bounds" in str(error) or "index" in str(error):
            return "out_of_bounds"
        return "unclear"
    except (ValueError, TypeError):  # BranchChangedError is a ValueError
        return "refused"
    except Exception:  # noqa: BLE001 - what the fuzz counts
        return "unclear"
    return "accepted"


# -- mutated tapes ---------------------------------------------------------------------------
def _mutate(contents: dict, rng: np.random.Generator) -> dict:
    contents = {k: np.array(v, copy=True) for k, v in contents.items()}
    fields = [k for k in ("op", "a", "b", "c", "inputs", "params", "outputs", "guards") if contents[k].size]
    for _ in range(int(rng.integers(1, 3))):
        field = fields[int(rng.integers(len(fields)))]
        arr = contents[field]
        i = int(rng.integers(arr.size))
        if field == "c":
            arr[i] = rng.choice([np.nan, np.inf, -1.0, 0.0, 1e300, float(rng.integers(-5, 60))])
        else:
            info = np.iinfo(arr.dtype)
            value = int(rng.choice(INTERESTING + (int(rng.integers(-3, arr.size + 3)),)))
            arr[i] = min(max(value, info.min), info.max)
        if rng.random() < 0.1:  # a truncated field
            contents[field] = arr[: int(rng.integers(arr.size))]
    return contents


_REQUESTS = (
    "eval", "jacobian forward", "jacobian reverse", "jvp", "eval_many", "jacobian_many", "optimize", "check",
    "hvp", "taylor", "jacobian_sparsity", "hessian_sparsity", "gradient", "gradient_many", "hessian",
)  # fmt: skip


def _requests(tape, params):
    """Every request a user makes of a tape, as zero-argument calls."""
    n = tape.n_inputs
    x = np.linspace(0.3, 0.9, n)
    X = np.tile(x, (3, 1))
    calls = [
        lambda: tape.eval(x, params),
        lambda: tape.jacobian(x, "forward", params),
        lambda: tape.jacobian(x, "reverse", params),
        lambda: tape.jvp(x, np.ones(n), params),
        lambda: tape.eval_many(X, params),
        lambda: tape.jacobian_many(X, params),
        lambda: tape.optimize().eval(x, params),
        lambda: tape.check(x, params),
        lambda: tape.hvp(x, np.ones(n), params, weights=np.ones(tape.n_outputs)),
        lambda: tape.taylor(x, np.ones(n), 2, params),
        lambda: tape.jacobian_sparsity(),
        lambda: tape.hessian_sparsity(weights=np.ones(tape.n_outputs)),
    ]
    if tape.scalar_output:
        calls += [
            lambda: tape.gradient(x, params),
            lambda: tape.gradient_many(X, params),
            lambda: tape.hessian(x, params),
        ]
    return calls


def fuzz_tapes(cases: int, seed: int) -> Counter:
    import numba_ad as ad
    from numba_ad.tape.format import to_contents

    rng = np.random.default_rng(seed)
    counts = Counter()
    tapes = _tapes()
    folder = Path(tempfile.mkdtemp(prefix="numba_ad_fuzz_"))
    for case in range(cases):
        name = list(tapes)[case % len(tapes)]
        tape, params = tapes[name]
        contents = _mutate(to_contents(tape.arrays, tape.scalar_output), rng)
        path = folder / f"{case}.npz"
        with open(path, "wb") as f:
            np.savez(f, **contents)
        try:
            loaded = ad.load(path)
        except (ValueError, TypeError):
            counts["refused"] += 1
            continue
        except Exception:  # noqa: BLE001
            counts["unclear"] += 1
            continue
        outcomes = [_classify(call) for call in _requests(loaded, params)]
        worst = next((kind for kind in ("out_of_bounds", "unclear") if kind in outcomes), None)
        counts[worst or "accepted"] += 1
        if worst:
            counts[f"{worst}: {name} tape, request {_REQUESTS[outcomes.index(worst)]}"] += 1
        path.unlink()
    return counts


# -- bad arguments -----------------------------------------------------------------------------
def _bad_vectors(n: int) -> dict:
    """Arguments that must be refused where a float vector of length n is expected."""
    return {
        "short": np.ones(n - 1),
        "long": np.ones(n + 1),
        "2-d": np.ones((n, 1)),
        "0-d": np.array(1.0),
        "complex": np.ones(n, dtype=complex),
        "string": "x" * n,
        "none": None,
        "object": np.array([object()] * n, dtype=object),
        "empty": np.ones(0),
    }


def _bad_outputs(n: int) -> dict:
    """Output buffers that must be refused where a writeable float64 vector of length n is expected."""
    readonly = np.ones(n)
    readonly.flags.writeable = False
    return {
        "short": np.ones(n - 1),
        "int": np.ones(n, dtype=np.int64),
        "float32": np.ones(n, dtype=np.float32),
        "read-only": readonly,
        "2-d": np.ones((n, 1)),
    }


def fuzz_arguments() -> Counter:
    from numba_ad import nb

    counts = Counter()
    tapes = _tapes()
    tape, _ = tapes["p2"]
    n = tape.n_inputs
    x = np.linspace(0.3, 0.9, n)
    compiled = tape.compile()
    work = tape.workspace()
    other_work = tapes["branchy"][0].workspace()
    entry_points = {
        "eval": lambda v: tape.eval(v),
        "gradient": lambda v: tape.gradient(v),
        "jvp x": lambda v: tape.jvp(v, np.ones(n)),
        "jvp v": lambda v: tape.jvp(x, v),
        "vjp x": lambda v: tape.vjp(v, 1.0),
        "hvp v": lambda v: tape.hvp(x, v),
        "hessian": lambda v: tape.hessian(v),
        "taylor v": lambda v: tape.taylor(x, v, 2),
        "gradient_many": lambda v: tape.gradient_many(v),
        "compiled eval": lambda v: compiled.eval(v),
        "compiled gradient": lambda v: compiled.gradient(v),
        "nb value_and_gradient x": lambda v: nb.value_and_gradient_into(tape.arrays, work, v, np.empty(n)),
        "nb eval_into x": lambda v: nb.eval_into(tape.arrays, work, v, np.empty(1)),
    }
    directions = {"jvp v", "hvp v"}  # (n, K) is K directions there, not a bad argument
    for entry, call in entry_points.items():
        for what, bad in _bad_vectors(n).items():
            if entry in directions and what == "2-d":
                continue
            _count(counts, f"{entry} <- {what}", _classify(lambda: call(bad)))  # noqa: B023
    nnz = tape.jacobian_sparsity().nnz
    outputs = {  # entry: (the length its output must have, the call)
        "nb value_and_gradient g": (n, lambda g: nb.value_and_gradient_into(tape.arrays, work, x, g)),
        "nb jvp_into out": (tape.n_outputs, lambda out: nb.jvp_into(tape.arrays, work, x, np.ones(n), out)),
        "compiled gradient_into g": (n, lambda g: compiled.gradient_into(x, g)),
        "sparse_jacobian_values out": (nnz, lambda out: tape.sparse_jacobian_values(x, out=out)),
    }
    for entry, (length, call) in outputs.items():
        for what, bad in _bad_outputs(length).items():
            _count(counts, f"{entry} <- {what}", _classify(lambda: call(bad)))  # noqa: B023
        # a strided buffer is not a bad argument: it must be refused or written as a contiguous one is
        contiguous, strided = np.zeros(length), np.zeros(2 * length)[::2]
        call(contiguous)
        outcome = _classify(lambda: call(strided))  # noqa: B023
        if outcome == "accepted" and np.array_equal(strided, contiguous):
            outcome = "refused"  # counted with the clear outcomes: answered right
        _count(counts, f"{entry} <- strided", outcome)
    other = lambda: nb.value_and_gradient_into(tape.arrays, other_work, x, np.empty(n))  # noqa: E731
    _count(counts, "nb value_and_gradient <- another tape's workspace", _classify(other))
    _count(counts, "tape.arrays.a[-1] = 10**7", _classify(lambda: tape.arrays.a.__setitem__(-1, 10**7)))
    return counts


def _count(counts: Counter, case: str, outcome: str) -> None:
    """A bad argument that was accepted is a silent result; the bad cases are listed by name."""
    outcome = "silent" if outcome == "accepted" else outcome
    counts[outcome] += 1
    if outcome in BAD:
        counts[f"{outcome}: {case}"] += 1


# -- driver -----------------------------------------------------------------------------------
def _batch(kind: str, cases: int, seed: int) -> dict:
    counts = fuzz_tapes(cases, seed) if kind == "tapes" else fuzz_arguments()
    return dict(counts)


def run(cases: int, seed: int, batch: int = 250, boundscheck: bool = True, timeout: float = 1800) -> dict:
    """{"tapes": counts, "arguments": counts}, each batch in a subprocess."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if boundscheck:
        env["NUMBA_BOUNDSCHECK"] = "1"
    totals = {"tapes": Counter(), "arguments": Counter()}
    jobs = [("arguments", 0, seed)] + [("tapes", min(batch, cases - k), seed + k) for k in range(0, cases, batch)]
    for kind, size, batch_seed in jobs:
        code = (
            "import json; from tests.fuzz.fuzz_api import _batch; "
            f"print(json.dumps(_batch({kind!r}, {size}, {batch_seed})))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout
        )
        if done.returncode != 0:
            totals[kind]["crashed"] += 1
            print(f"{kind} batch (seed {batch_seed}) died: exit {done.returncode}", file=sys.stderr)
            print(done.stderr[-2000:], file=sys.stderr)
            continue
        totals[kind].update(json.loads(done.stdout.strip().splitlines()[-1]))
    return {kind: dict(counter) for kind, counter in totals.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="mutated tapes (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-boundscheck", action="store_true", help="run without NUMBA_BOUNDSCHECK=1")
    args = parser.parse_args(argv)
    totals = run(args.cases, args.seed, boundscheck=not args.no_boundscheck)
    for kind, counts in totals.items():
        print(f"{kind:10}", " ".join(f"{k}={counts.get(k, 0)}" for k in ("refused", "accepted") + BAD))
        for case in sorted(k for k in counts if ": " in k):
            print(f"    {case}")
    return 1 if any(counts.get(k, 0) for counts in totals.values() for k in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
