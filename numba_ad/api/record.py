"""``trace(f, *args)``: record f once into a Tape (the API side of the tracing layer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numba_ad.api.structure import Output, Signature, describe, normalize_argnums, output_vector, traced_arguments
from numba_ad.api.tape import Tape
from numba_ad.tracing.njit import traceable
from numba_ad.tracing.trace import trace_function


def trace(f: Callable, *args: Any, argnums: int | tuple[int, ...] = 0, params: Any = None) -> Tape:
    """Record f once at ``args`` and return its :class:`Tape`.

    f is called as ``f(*args)`` on traced values. Each argument may be an array of any shape,
    a number, or tuples, lists, dicts and NamedTuples of them; f returns a scalar, an array,
    or such a structure. The tape works on flat vectors: x holds the raveled leaves of the
    arguments in ``argnums`` (in order), p the floating leaves of the others (parameters: not
    differentiated, replaceable at every replay); other leaves (ints, strings, integer arrays)
    are fixed at their recorded values. ``tape.signature.flatten(*args)`` gives (x, p) for new
    arguments, checking their structure; ``tape.signature`` is how they map.

    ``trace(f, x0, params=p0)`` is ``trace(f, x0, p0)``: f called as ``f(x, p)``.
    """
    if params is not None:
        if len(args) != 1:
            raise TypeError(
                "params= goes with one x0: trace(f, x0, params=p0), or pass every argument: trace(f, x0, p0)"
            )
        args = (args[0], params)
    if not args:
        raise TypeError("trace(f, *args) needs the arguments to record f at; got none")
    signature, x, p = describe(args, normalize_argnums(argnums, len(args)))
    tape, _ = trace_structured(f, signature, args, x, p)
    return tape


def trace_structured(
    f: Callable, signature: Signature, args: tuple, x: np.ndarray, p: np.ndarray | None, has_aux: bool = False
) -> tuple[Tape, Output]:
    """(Tape, Output) of f recorded at args, which `signature` describes, flattened to x and p."""
    g = traceable(f)  # an @njit kernel runs as its Python source (tracing/njit.py)
    outputs = []

    def flat(x_traced, p_traced=None):
        result = g(*traced_arguments(signature, args, x_traced, p_traced))
        output, recorded = output_vector(x_traced._rec, result, has_aux)
        outputs.append(output)
        return recorded

    flat.__name__ = getattr(f, "__name__", type(f).__name__)
    arrays, scalar, guard_info = trace_function(flat, x, p)
    tape = Tape(arrays, scalar, guard_info)
    tape.signature, tape.output = signature, outputs[-1]
    return tape, outputs[-1]
