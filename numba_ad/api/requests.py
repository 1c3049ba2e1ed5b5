"""What ``ad.function`` asks of a tape, and how the flat answer goes back into f's structure.

A request is bound to the call's Signature (``bind``: tangents are flattened once), then
``run(tape, x, p, output)`` on the tape that may hold the branch, returning (flat result, index
of the failed guard or -1) as the Tape's private twins do, and ``finish(result, signature,
output)`` builds the answer: values in f's structure, gradients in the arguments', Jacobians
and Hessians nested as JAX's jacfwd/jacrev/hessian nest them. With ``has_aux``, the tape's
outputs are f's output proper (the first ``output.n_main``) followed by the aux leaves; every
derivative is of the first part only.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from numba_ad._inputs import as_real_array
from numba_ad.api.structure import (
    Leaf,
    Output,
    Signature,
    _match,
    derivative_tree,
    nested,
    output_tree,
)


class Request:
    """Base: bind returns self; subclasses define run and finish."""

    def bind(self, signature: Signature) -> Request:
        return self

    def run(self, tape, x, p, output: Output):
        raise NotImplementedError

    def finish(self, result, signature: Signature, output: Output) -> Any:
        raise NotImplementedError


def _describe_main(output: Output) -> str:
    main = output.main
    if type(main) is Leaf:
        return f"an array of shape {main.shape}" if main.shape else "a scalar"
    return f"a {main.kind.__name__ if main.kind else 'None'}"


def _require_scalar(output: Output, what: str) -> None:
    if type(output.main) is not Leaf or output.main.shape != ():
        raise ValueError(
            f"{what} needs f to return one scalar (a scalar tape); it returned {_describe_main(output)}: "
            "use jacobian, or vjp with a cotangent"
            + (" (with has_aux=True, f returns (scalar, aux))" if output.aux is not None else "")
        )


def _padded(main: np.ndarray, tape, output: Output) -> np.ndarray:
    """Weights or cotangents over f's outputs, with zeros for the aux outputs after them."""
    if output.aux is None:
        return main
    full = np.zeros((tape.n_outputs,) + main.shape[1:])
    full[: output.n_main] = main
    return full


def _values(tape, x, p, output, result, failed):
    """(result, f's values) when the request needs them for the aux, else (result, None)."""
    if failed >= 0 or output.aux is None:
        return (result, None), failed
    y, failed = tape._eval(x, p)
    return (result, y), failed


def _with_aux(answer, values, signature: Signature, output: Output):
    if output.aux is None:
        return answer
    return answer, output_tree(output, np.atleast_1d(values), signature.value_dtype)[1]


class _Eval(Request):
    def run(self, tape, x, p, output):
        return tape._eval(x, p)

    def finish(self, result, signature, output):
        return output_tree(output, np.atleast_1d(result), signature.value_dtype)


class _Gradient(Request):
    def __init__(self, with_value: bool) -> None:
        self.with_value = with_value

    def run(self, tape, x, p, output):
        _require_scalar(output, "gradient")
        if tape.scalar_output:
            (value, g), failed = tape._value_and_gradient(x, p)
            return (np.array([value]), g), failed
        y, failed = tape._eval(x, p)  # f's value and its aux
        if failed >= 0:
            return None, failed
        e0 = np.zeros(tape.n_outputs)
        e0[0] = 1.0
        g, failed = tape._vjp(x, e0, p)
        return (y, g), failed

    def finish(self, result, signature, output):
        y, g = result
        grad = derivative_tree(signature, g)
        if not self.with_value and output.aux is None:
            return grad
        value = output_tree(output, np.atleast_1d(y), signature.value_dtype)
        if self.with_value:
            return value, grad  # ((value, aux), grad) with has_aux, as JAX's value_and_grad
        return grad if output.aux is None else (grad, value[1])


class _Jacobian(Request):
    def __init__(self, mode: str) -> None:
        self.mode = mode

    def run(self, tape, x, p, output):
        J, failed = tape._jacobian(x, self.mode, p)
        return _values(tape, x, p, output, J, failed)

    def finish(self, result, signature, output):
        J, y = result
        J = np.asarray(J).reshape(-1, signature.n_x)[: output.n_main]
        return _with_aux(nested(output.main, signature, J), y, signature, output)


class _Directions(Request):
    """A request with tangents v shaped like the differentiated argument: several at once as
    (n, K) for a vector argument (the flat form, answered flat)."""

    def __init__(self, v: Any) -> None:
        self.v, self.flat, self.batched = v, None, False

    def bind(self, signature):
        bound = copy.copy(self)  # the request object is shared by every call of a transform
        inputs = signature.inputs
        v = self.v
        if type(v) is np.ndarray and v.ndim == 2 and type(inputs) is Leaf and inputs.shape == (signature.n_x,):
            bound.flat, bound.batched = as_real_array(v, "v"), True
        else:
            bound.flat = signature.flatten_like(v, "v")
        return bound


class _Jvp(_Directions):
    def run(self, tape, x, p, output):
        out, failed = tape._jvp(x, self.flat, p)
        out = np.asarray(out)
        if output.aux is not None:
            out = out[: output.n_main]
        return out, failed

    def finish(self, result, signature, output):
        if self.batched:
            return result
        return output_tree(Output(output.main, None, output.n_main), np.atleast_1d(result), signature.value_dtype)


class _Vjp(Request):
    def __init__(self, w: Any) -> None:
        self.w = w

    def run(self, tape, x, p, output):
        W, batched = cotangents(self.w, output)
        if not tape.scalar_output:
            if batched and output.main.shape == ():  # K cotangents of a scalar f with aux
                W = W.reshape(1, -1)
            W = _padded(np.atleast_1d(W), tape, output)
        out, failed = tape._vjp(x, W, p)
        return (out, batched), failed

    def finish(self, result, signature, output):
        g, batched = result
        return g if batched else derivative_tree(signature, g)


def cotangents(w: Any, output: Output) -> tuple[Any, bool]:
    """(w over f's outputs as the tape takes it, whether it is K cotangents at once): w shaped
    like f's output, or the flat (m,) / (m, K) forms (a float or (K,) for scalar f)."""
    main = output.main
    if type(main) is Leaf and type(w) is np.ndarray and w.ndim == len(main.shape) + 1 and len(main.shape) <= 1:
        if w.shape[: len(main.shape)] == main.shape:
            arr = as_real_array(w, "w")
            return (arr if main.shape else arr.reshape(-1)), True
    arrays: list = []
    _match(main, w, ("the cotangent",), arrays)
    flat = np.concatenate([a.ravel() for a in arrays]) if arrays else np.empty(0)
    if type(main) is Leaf and main.shape == () and output.aux is None:
        return float(flat[0]), False
    return flat, False


class _Hvp(_Directions):
    def __init__(self, v: Any, weights: Any) -> None:
        super().__init__(v)
        self.weights = weights

    def run(self, tape, x, p, output):
        out, failed = tape._hvp(x, self.flat, main_weights(self.weights, tape, output), p)
        return out, failed

    def finish(self, result, signature, output):
        return result if self.batched else derivative_tree(signature, result)


def main_weights(weights: Any, tape, output: Output) -> Any:
    """Weights over the tape's outputs for a second-order request: as given when f has no aux;
    otherwise those of f's outputs (one for a scalar f) followed by zeros for the aux."""
    if output.aux is None:
        return weights
    if weights is None:
        if type(output.main) is not Leaf or output.main.shape != ():
            return None  # the tape says weights are needed for a vector f
        weights = np.ones(1)
    w = as_real_array(weights, "weights").reshape(-1)
    if w.shape != (output.n_main,):
        raise ValueError(f"weights must have shape ({output.n_main},), one per output of f; got shape {w.shape}")
    return _padded(w, tape, output)


class _Hessian(Request):
    def __init__(self, weights: Any) -> None:
        self.weights = weights

    def run(self, tape, x, p, output):
        H, failed = tape._hessian(x, main_weights(self.weights, tape, output), p)
        return _values(tape, x, p, output, H, failed)

    def finish(self, result, signature, output):
        H, y = result
        inputs = signature.inputs
        return _with_aux(nested(inputs, signature, H), y, signature, output)


class _Flat(Request):
    """A Tape method whose answer stays flat (sparse matrices over the raveled leaves)."""

    def __init__(self, method: str, arg: Any) -> None:
        self.method, self.arg = method, arg

    def run(self, tape, x, p, output):
        return getattr(tape, self.method)(x, self.arg, p)

    def finish(self, result, signature, output):
        return result


EVAL = _Eval()
VALUE_AND_GRADIENT = _Gradient(with_value=True)
GRADIENT = _Gradient(with_value=False)


def jacobian(mode: str) -> Request:
    return _Jacobian(mode)


def jvp(v: Any) -> Request:
    return _Jvp(v)


def vjp(w: Any) -> Request:
    return _Vjp(w)


def hvp(v: Any, weights: Any) -> Request:
    return _Hvp(v, weights)


def hessian(weights: Any) -> Request:
    return _Hessian(weights)


def flat(method: str, arg: Any) -> Request:
    return _Flat(method, arg)
