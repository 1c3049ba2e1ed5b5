"""Arguments and results with structure (JAX calls them pytrees) over a tape's flat vectors.

A call ``f(*args)`` is described once, by :func:`describe`, as a :class:`Signature`: the
containers (tuples, lists, dicts, NamedTuples, None) around the leaves, and what each leaf is.

- a leaf of a differentiated argument (``argnums``) is an input: its values, raveled, follow
  the previous input's in the tape's x;
- a floating leaf of another argument is a parameter: it goes into p, and a new value replays
  the tape without tracing again;
- any other leaf (an int, a bool, a string, an integer array, an object) is static: its value
  is part of the signature, so a new value records a new tape, as a new branch does.

A whole argument (or f's whole result) that is a list or tuple of plain numbers is read as a
1-D array, as NumPy reads it: that was the only form before structure was supported, and it
keeps those calls as they were. Inside a container, a tuple or list is a container, and a
NamedTuple always is. Derivatives come back in the structure of the arguments they are taken
with respect to, as JAX returns them, in the leaf's floating dtype (float64 for integers).

The signature is the key of ``ad.function``'s cache, so flattening costs one walk per call,
and a replay only copies leaves into x and p.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from numba_ad.tracing.array import TracedArray
from numba_ad.tracing.array_conditions import ConditionArray
from numba_ad.tracing.scalar import Condition, Traced

# -- the description -------------------------------------------------------------------------


class Node(NamedTuple):
    """A container: its type (tuple, list, dict, a NamedTuple class; None for None itself),
    its keys (dict keys, NamedTuple fields; () for tuples and lists) and its children."""

    kind: type | None
    keys: tuple
    children: tuple


class Leaf(NamedTuple):
    """An array or number: its shape, and whether it was a number (its derivative is one too).

    No dtype: the tape's x and p depend on shapes alone, so a float32 call replays the tape a
    float64 call recorded; the dtypes of results come from each call's Signature."""

    shape: tuple
    number: bool

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Static(NamedTuple):
    """A leaf that is not recorded: its value (for outputs) or a hashable key of it (for arguments)."""

    key: Any


NONE = Node(None, (), ())
# the derivative of a leaf with an integer dtype comes back in this dtype (NumPy's promotion)
_DEFAULT_FLOAT = np.dtype(np.float64)
_FLOAT64_ONLY = (_DEFAULT_FLOAT,)


def _is_number(v: Any) -> bool:
    return isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_))


def _path_text(path: tuple) -> str:
    """JAX's key path notation: argument 1, then ['w'], [0], .field ..."""
    if not path:
        return "the value"
    head, rest = path[0], path[1:]
    text = f"argument {head}" if isinstance(head, int) else str(head)
    for step in rest:
        text += f".{step[1]}" if isinstance(step, tuple) else f"[{step!r}]"
    return text


def _children(value: Any, path: tuple) -> tuple[type, tuple, list, list]:
    """(kind, keys, child values, child paths) of a container, or None for a leaf."""
    t = type(value)
    if isinstance(value, tuple) and hasattr(t, "_fields"):  # a NamedTuple
        return t, tuple(t._fields), list(value), [path + (("field", f),) for f in t._fields]
    if t is tuple or t is list:
        return t, (), list(value), [path + (i,) for i in range(len(value))]
    if isinstance(value, dict):
        try:
            keys = tuple(sorted(value))  # JAX's order: a dict's derivative does not depend on insertion
        except TypeError:
            kinds = sorted({type(k).__name__ for k in value})
            where = _path_text(path)
            raise TypeError(f"{where} is a dict whose keys cannot be sorted ({kinds}); use keys of one type") from None
        return t, keys, [value[k] for k in keys], [path + (k,) for k in keys]
    return None


def _as_leaf_array(value: Any, path: tuple) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        raise TypeError(
            f"{_path_text(path)} is complex ({arr.dtype}): numba_ad differentiates real functions; "
            "pass the real and imaginary parts as two real arrays"
        )
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{_path_text(path)} has dtype {arr.dtype}; expected real numbers")
    return arr


def _refuse_traced(value: Any, path: tuple) -> None:
    if isinstance(value, (Traced, TracedArray, Condition)):
        raise TypeError(
            f"{_path_text(path)} is a traced value: numba_ad does not nest its transformations "
            "(record the inner derivative as a tape, or use hvp/hessian for second order)"
        )


class _Walk:
    """One pass over the arguments: the specs, the x leaves (and their result dtypes) of the
    argument being walked, the p leaves in order, and the floating dtypes met."""

    def __init__(self) -> None:
        self.x: list[np.ndarray] = []
        self.x_dtypes: list[np.dtype] = []
        self.p: list[np.ndarray] = []
        self.dtypes: set[np.dtype] = set()  # of array (and NumPy scalar) leaves: the values' dtype

    def arg(self, value: Any, differentiated: bool, path: tuple) -> Node | Leaf | Static:
        t = type(value)
        if t is np.ndarray or _is_number(value) or isinstance(value, np.generic):
            return self.leaf(value, differentiated, path, number=t is not np.ndarray)
        if value is None:
            return NONE
        if len(path) == 1 and (t is list or t is tuple) and value and all(_is_number(v) for v in value):
            return self.leaf(value, differentiated, path, number=False)  # a whole argument: NumPy's reading
        container = _children(value, path)
        if container is not None:
            kind, keys, values, paths = container
            return Node(kind, keys, tuple(self.arg(v, differentiated, q) for v, q in zip(values, paths)))
        _refuse_traced(value, path)
        if differentiated:
            raise TypeError(
                f"{_path_text(path)} is a {t.__name__}: a differentiated argument holds real numbers (arrays "
                "and numbers, in tuples, lists, dicts and NamedTuples); move it to an argument not in argnums"
            )
        try:
            hash(value)
        except TypeError:
            raise TypeError(
                f"{_path_text(path)} is a {t.__name__}, which is not hashable: an argument that is not an "
                "array is static (part of the tape's key), so it must be hashable"
            ) from None
        return Static((t, value))

    def leaf(self, value: Any, differentiated: bool, path: tuple, number: bool) -> Leaf | Static:
        arr = _as_leaf_array(value, path)
        kind = arr.dtype.kind
        if differentiated:
            if kind == "b":
                raise TypeError(f"{_path_text(path)} is boolean; a differentiated argument holds real numbers")
            dtype = arr.dtype if kind == "f" else _DEFAULT_FLOAT
            self.x.append(arr)
            self.x_dtypes.append(dtype)
            if type(value) is not float and type(value) is not int:  # Python numbers are weak, as in NumPy
                self.dtypes.add(dtype)
            return Leaf(arr.shape, number)
        if kind == "f":
            self.p.append(arr)
            if type(value) is not float:
                self.dtypes.add(arr.dtype)
            return Leaf(arr.shape, number)
        # integers and booleans of other arguments are static (indices, counts, masks)
        if type(value) is np.ndarray:
            return Static(("array", arr.dtype.str, arr.shape, arr.tobytes()))
        if number or isinstance(value, np.generic):
            return Static((type(value), value))
        return Static(("sequence", type(value), tuple(value)))


def _concatenated(leaves: list[np.ndarray]) -> np.ndarray:
    if len(leaves) == 1 and leaves[0].ndim == 1:
        return leaves[0]  # one vector: Tape._point takes it as it is when it is float64
    if not leaves:
        return np.empty(0)
    return np.concatenate([np.ravel(a).astype(np.float64, copy=False) for a in leaves])


def normalize_argnums(argnums: int | Sequence[int], n_args: int | None = None) -> int | tuple[int, ...]:
    """argnums as an int or a tuple of ints, checked (against n_args when known)."""
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        items, single = (int(argnums),), True
    elif isinstance(argnums, (tuple, list)) and all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in argnums
    ):
        items, single = tuple(int(a) for a in argnums), False
        if not items:
            raise ValueError("argnums is empty: name at least one argument to differentiate")
    else:
        raise TypeError(f"argnums must be an int or a tuple of ints; got {argnums!r}")
    if n_args is not None:
        bad = [a for a in items if not -n_args <= a < n_args]
        if bad:
            raise ValueError(f"argnums {bad[0]} is out of range: f was called with {n_args} positional arguments")
        items = tuple(a % n_args for a in items)
        if len(set(items)) != len(items):
            raise ValueError(f"argnums names an argument twice: {argnums!r}")
    return items[0] if single else items


class Signature:
    """How one call's arguments map to a tape's x (the leaves of ``args[argnums]``, in argnums
    order) and p (the other arguments' floating leaves, in order). Equal, and hashed, by the
    structure, shapes and static values alone (``ad.function`` keys its tapes by it, once per
    call); ``x_dtypes`` and ``value_dtype`` say what the results of this call are returned in."""

    __slots__ = ("argnums", "args", "n_x", "n_p", "x_dtypes", "value_dtype", "_hash")

    def __init__(self, argnums, args, n_x, n_p, x_dtypes, value_dtype) -> None:
        self.argnums, self.args, self.n_x, self.n_p = argnums, args, n_x, n_p
        self.x_dtypes, self.value_dtype = x_dtypes, value_dtype
        self._hash = hash((argnums, args))

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Signature
            and self._hash == other._hash
            and self.argnums == other.argnums
            and self.args == other.args
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        return Signature, (self.argnums, self.args, self.n_x, self.n_p, self.x_dtypes, self.value_dtype)

    def __repr__(self) -> str:
        return f"Signature(argnums={self.argnums!r}, n_x={self.n_x}, n_p={self.n_p}, args={self.args!r})"

    @property
    def inputs(self) -> Node | Leaf:
        """The spec of what derivatives are taken with respect to: one argument's, or a tuple."""
        if isinstance(self.argnums, int):
            return self.args[self.argnums]
        return Node(tuple, (), tuple(self.args[i] for i in self.argnums))

    def flatten(self, *args: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """(x, p) of a tape recorded with this signature for new arguments: ValueError naming the
        first leaf whose structure, shape or static value differs from the recording."""
        if len(args) != len(self.args):
            raise ValueError(f"the tape was recorded with {len(self.args)} arguments; got {len(args)}")
        signature, x, p = describe(args, self.argnums)
        if signature != self:
            for i, (recorded, given) in enumerate(zip(self.args, signature.args)):
                difference = first_difference(recorded, given, (i,))
                if difference is not None:
                    raise ValueError(difference)
        return x, p

    def unflatten(self, flat: np.ndarray) -> Any:
        """A vector of length n_x (a gradient, a tangent) in the structure of the differentiated
        arguments, each leaf in its floating dtype."""
        flat = np.asarray(flat)
        if flat.shape != (self.n_x,):
            raise ValueError(f"expected a vector of length {self.n_x}; got shape {flat.shape}")
        return derivative_tree(self, flat)

    def flatten_like(self, value: Any, name: str) -> np.ndarray:
        """A tangent or cotangent with the structure of the differentiated arguments, as one
        float64 vector of length n_x; ValueError naming the first leaf that differs."""
        arrays: list[np.ndarray] = []
        _match(self.inputs, value, (name,), arrays)
        return _concatenated(arrays)


def describe(args: tuple, argnums: int | tuple[int, ...]) -> tuple[Signature, np.ndarray, np.ndarray | None]:
    """(signature, x, p) of one call: p is None when no leaf is a parameter."""
    if len(args) == 1:  # f(x): the most common call of all
        x = args[0]
        if type(x) is np.ndarray and x.ndim == 1 and x.dtype == _DEFAULT_FLOAT and x.size and argnums == 0:
            return Signature(0, (Leaf(x.shape, False),), x.size, 0, _FLOAT64_ONLY, _DEFAULT_FLOAT), x, None
    if type(argnums) is int and all(type(a) is np.ndarray and a.dtype.kind == "f" for a in args):
        return _describe_arrays(args, argnums)
    order = (argnums,) if isinstance(argnums, int) else argnums
    walk = _Walk()
    specs, x_parts, x_dtypes = [], {}, {}
    for i, a in enumerate(args):
        differentiated = i in order
        specs.append(walk.arg(a, differentiated, (i,)))
        if differentiated:  # x follows argnums' order, which need not be the arguments'
            x_parts[i], x_dtypes[i], walk.x, walk.x_dtypes = walk.x, walk.x_dtypes, [], []
    x_leaves = [leaf for i in order for leaf in x_parts[i]]
    if not x_leaves:
        raise ValueError("the differentiated arguments hold no numbers: there is nothing to differentiate")
    x = _concatenated(x_leaves)
    p = _concatenated(walk.p) if walk.p else None
    dtypes = walk.dtypes
    value_dtype = _DEFAULT_FLOAT if not dtypes or dtypes == {_DEFAULT_FLOAT} else np.result_type(*dtypes)
    signature = Signature(
        argnums,
        tuple(specs),
        x.size,
        0 if p is None else p.size,
        tuple(d for i in order for d in x_dtypes[i]),
        value_dtype,
    )
    return signature, x, p


def _describe_arrays(args: tuple, argnums: int) -> tuple[Signature, np.ndarray, np.ndarray | None]:
    """describe for the most common call, floating arrays only (f(x), f(x, p), f(x, data, ...)):
    the same result, for a fraction of the walk's cost per call."""
    x = args[argnums]
    specs = tuple(Leaf(a.shape, False) for a in args)
    others = [a for i, a in enumerate(args) if i != argnums]
    p = (others[0] if len(others) == 1 and others[0].ndim == 1 else _concatenated(others)) if others else None
    dtypes = {a.dtype for a in args}
    value_dtype = _DEFAULT_FLOAT if dtypes == {_DEFAULT_FLOAT} else np.result_type(*dtypes)
    flat = x if x.ndim == 1 else x.ravel()
    if not flat.size:
        raise ValueError("the differentiated arguments hold no numbers: there is nothing to differentiate")
    return Signature(argnums, specs, flat.size, 0 if p is None else p.size, (x.dtype,), value_dtype), flat, p


def _leaves(spec: Node | Leaf | Static):
    if type(spec) is Leaf:
        yield spec
    elif type(spec) is Node:
        for child in spec.children:
            yield from _leaves(child)


def _match(spec, value, path, arrays) -> None:
    """Append value's leaves (float64) to arrays, checking value has spec's structure and shapes."""
    if type(spec) is Leaf:
        if _children(value, path) is not None and not (
            type(value) in (list, tuple) and value and all(_is_number(v) for v in value)
        ):
            raise ValueError(f"{_path_text(path)} is a {type(value).__name__}; expected an array of shape {spec.shape}")
        arr = _as_leaf_array(value, path)
        if arr.shape != spec.shape:
            raise ValueError(f"{_path_text(path)} has shape {arr.shape}; expected {spec.shape}")
        arrays.append(arr.astype(np.float64, copy=False))
        return
    if type(spec) is Static:
        return
    if spec.kind is None:
        if value is not None:
            raise ValueError(f"{_path_text(path)} is a {type(value).__name__}; expected None")
        return
    container = _children(value, path)
    if (
        container is None
        or container[0] is not spec.kind
        or container[1] != spec.keys
        or len(container[2]) != len(spec.children)
    ):
        got = type(value).__name__ if container is None else _describe_node(container[0], container[1], container[2])
        raise ValueError(f"{_path_text(path)} is {got}; expected {_describe_node(spec.kind, spec.keys, spec.children)}")
    for child, v, q in zip(spec.children, container[2], container[3]):
        _match(child, v, q, arrays)


def first_difference(recorded, given, path: tuple) -> str | None:
    """What differs first between two specs, naming the leaf; None when they are equal."""
    if recorded == given:
        return None
    where = _path_text(path)
    if type(recorded) is not type(given):
        kinds = {Leaf: "an array", Static: "a static value", Node: "a container"}
        return f"{where} is {kinds[type(given)]} where the tape was recorded with {kinds[type(recorded)]}"
    if type(recorded) is Leaf:
        if recorded.shape == given.shape:
            return None  # a number for a 0-d array: the same flat vector
        return f"{where} has shape {given.shape}; the tape was recorded with {recorded.shape}"
    if type(recorded) is Static:
        return f"{where} differs from the static value the tape was recorded with (a new value needs a new trace)"
    if recorded.kind is not given.kind or recorded.keys != given.keys or len(recorded.children) != len(given.children):
        return (
            f"{where} is {_describe_node(given.kind, given.keys, given.children)}; the tape was recorded with "
            f"{_describe_node(recorded.kind, recorded.keys, recorded.children)}"
        )
    steps = recorded.keys if recorded.keys else range(len(recorded.children))
    for step, a, b in zip(steps, recorded.children, given.children):
        step = ("field", step) if hasattr(recorded.kind, "_fields") else step
        difference = first_difference(a, b, path + (step,))
        if difference is not None:
            return difference
    return None


def _describe_node(kind, keys, children) -> str:
    if kind is None:
        return "None"
    if kind is tuple or kind is list:
        return f"a {kind.__name__} of {len(children)}"
    return f"a {kind.__name__} with keys {list(keys)}"


# -- building values in a structure ------------------------------------------------------------


def rebuild(spec, make_leaf: Callable[[Leaf], Any], static: Callable[[Static, Any], Any], value: Any = None) -> Any:
    """The structure of spec with each Leaf replaced by make_leaf(leaf) (in order) and each Static
    by static(spec, value at that place) (value: the matching original, for statics)."""
    if type(spec) is Leaf:
        return make_leaf(spec)
    if type(spec) is Static:
        return static(spec, value)
    if spec.kind is None:
        return None
    if value is not None:
        originals = _children(value, ())[2]
    else:
        originals = [None] * len(spec.children)
    children = [rebuild(c, make_leaf, static, v) for c, v in zip(spec.children, originals)]
    if spec.kind is tuple or spec.kind is list:
        return spec.kind(children)
    if hasattr(spec.kind, "_fields"):
        return spec.kind(*children)
    pairs = zip(spec.keys, children)
    try:
        return spec.kind(pairs)
    except TypeError:  # a dict subclass that needs more to be made (defaultdict): a plain dict
        return dict(zip(spec.keys, children))


class Cursor:
    """Cuts consecutive leaves out of a flat vector (or out of axis 0 and 1 of a matrix)."""

    def __init__(self, flat: Any) -> None:
        self.flat, self.at = flat, 0

    def take(self, leaf: Leaf) -> Any:
        start, self.at = self.at, self.at + leaf.size
        if start == 0 and self.at == len(self.flat):
            return self.flat  # the whole of it (a traced x passes into f as itself)
        return self.flat[start : self.at]


def _no_static(spec: Static, value: Any) -> Any:
    raise AssertionError("differentiated arguments have no static leaves")


def leaf_result(values: np.ndarray, shape: tuple, number: bool, dtype: np.dtype) -> Any:
    """values (a raveled block) in `shape` and `dtype`; a number for a number leaf."""
    if number and not shape:
        v = values.reshape(())[()]
        return float(v) if dtype == _DEFAULT_FLOAT else dtype.type(v)
    if dtype == _DEFAULT_FLOAT and values.shape == shape and values.dtype == dtype:
        return values
    return np.asarray(values, dtype=dtype).reshape(shape)


def derivative_tree(signature: Signature, flat: np.ndarray) -> Any:
    """A gradient (or tangent) vector of length n_x in the structure of the differentiated
    arguments, each leaf in its own floating dtype."""
    spec, dtypes = signature.inputs, signature.x_dtypes
    if type(spec) is Leaf:  # one argument, one array: the common case
        return leaf_result(flat, spec.shape, spec.number, dtypes[0])
    cursor, each = Cursor(flat), iter(dtypes)
    return rebuild(spec, lambda leaf: leaf_result(cursor.take(leaf), leaf.shape, leaf.number, next(each)), _no_static)


def nested(out_spec, signature: Signature, matrix: np.ndarray, out_dtypes: tuple | None = None) -> Any:
    """matrix (rows: out_spec's raveled leaves; columns: the differentiated arguments') as one
    block per pair of leaves, shaped out.shape + in.shape, as JAX nests Jacobians and Hessians;
    each block in its input leaf's dtype (for a Hessian, out_spec is the inputs' spec)."""
    in_spec, dtypes = signature.inputs, signature.x_dtypes
    if type(out_spec) is Leaf and type(in_spec) is Leaf:
        return leaf_result(matrix, out_spec.shape + in_spec.shape, out_spec.number and in_spec.number, dtypes[0])
    rows = Cursor(matrix)

    def out_leaf(o: Leaf) -> Any:
        columns, each = Cursor(rows.take(o).T), iter(dtypes)
        return rebuild(
            in_spec,
            lambda i: leaf_result(columns.take(i).T, o.shape + i.shape, o.number and i.number, next(each)),
            _no_static,
        )

    return rebuild(out_spec, out_leaf, _none)


def _none(spec: Static, value: Any) -> None:
    return None  # a string or flag among f's outputs has no derivative


# -- tracing: arguments in, outputs out -------------------------------------------------------


class Output(NamedTuple):
    """What a traced f returned: the spec of its output (and of its aux), and the number of
    tape outputs that are f's output proper (the aux ones follow)."""

    main: Node | Leaf | Static
    aux: Node | Leaf | Static | None
    n_main: int


def traced_arguments(signature: Signature, args: tuple, x: TracedArray, p: TracedArray | None) -> list:
    """The arguments to run f on while tracing: the leaves cut from the traced x and p (a whole
    1-D argument is x itself), the statics as the caller gave them."""
    order = (signature.argnums,) if isinstance(signature.argnums, int) else signature.argnums
    starts, at = {}, 0
    for i in order:  # x holds the differentiated arguments in argnums' order
        starts[i] = at
        at += sum(leaf.size for leaf in _leaves(signature.args[i]))
    p_cursor = Cursor(p)

    def cut(cursor):
        def make(leaf: Leaf):
            block = cursor.take(leaf)
            if leaf.shape == ():
                return block[0]
            return block if block.shape == leaf.shape else block.reshape(leaf.shape)

        return make

    def static(spec: Static, value: Any) -> Any:
        return value

    built = []
    for i, (spec, value) in enumerate(zip(signature.args, args)):
        if i in starts:
            cursor = Cursor(x)
            cursor.at = starts[i]
        else:
            cursor = p_cursor
        built.append(rebuild(spec, cut(cursor), static, value))
    return built


def _output_spec(value: Any, path: tuple, pieces: list) -> Node | Leaf | Static:
    t = type(value)
    if t is Traced or t is TracedArray or isinstance(value, np.ndarray) or _is_number(value):
        shape = np.shape(value) if t is not Traced else ()
        if isinstance(value, np.ndarray) and value.dtype.kind not in "fiu":
            if value.dtype != object:
                raise TypeError(f"f returned an array of dtype {value.dtype} at {_path_text(path)}; expected numbers")
        pieces.append(value)
        return Leaf(shape, t is Traced or _is_number(value))
    if isinstance(value, (Condition, ConditionArray)):
        raise TypeError(
            f"f returned a comparison at {_path_text(path)}; return numbers "
            "(ad.where(cond, 1.0, 0.0) gives a condition as a number)"
        )
    if value is None:
        return NONE
    if (
        len(path) == 1
        and (t is list or t is tuple)
        and value
        and all(type(v) is Traced or _is_number(v) for v in value)
    ):
        pieces.append(list(value))
        return Leaf((len(value),), False)
    container = _children(value, path)
    if container is not None:
        kind, keys, values, paths = container
        return Node(kind, keys, tuple(_output_spec(v, q, pieces) for v, q in zip(values, paths)))
    if path[0] != "aux":
        raise TypeError(f"f must return real numbers; got a {t.__name__} at {_path_text(path)}")
    return Static(value)  # a string or a flag in aux: returned as it was at the recording


def output_vector(rec: Any, result: Any, has_aux: bool) -> tuple[Output, Any]:
    """(Output, what trace_function records) for f's result: the leaves raveled into one 1-D
    TracedArray, or the result itself when it is one scalar or one vector (the fast paths)."""
    from numba_ad.tracing.trace import output_slots

    if has_aux:
        if type(result) is not tuple or len(result) != 2:
            raise TypeError(
                f"has_aux=True needs f to return a pair (output, aux); it returned a {type(result).__name__}"
                + (f" of {len(result)}" if isinstance(result, (tuple, list)) else "")
            )
        result, aux = result
    pieces: list = []
    main = _output_spec(result, ("output",), pieces)
    n_main_pieces = len(pieces)
    aux_spec = _output_spec(aux, ("aux",), pieces) if has_aux else None
    if n_main_pieces == 0:
        raise ValueError("f returned an empty structure, no numbers; a tape needs at least one output")
    if len(pieces) == 1 and type(main) is Leaf and len(main.shape) <= 1:
        n_main = main.size
        return Output(main, aux_spec, n_main), pieces[0]  # today's forms, recorded as they were
    slots, values = [], []
    n_main = 0
    for k, piece in enumerate(pieces):
        flat = piece.ravel() if isinstance(piece, (np.ndarray, TracedArray)) and np.ndim(piece) > 1 else piece
        s, _ = output_slots(rec, flat)
        s = np.asarray(s).ravel()
        slots.append(s)
        if k < n_main_pieces:
            n_main += s.size
    all_slots = np.concatenate(slots)
    values = np.zeros(all_slots.size)  # values are not read after tracing: only the slots
    return Output(main, aux_spec, n_main), TracedArray(rec, all_slots, values)


def output_tree(output: Output, y: np.ndarray, dtype: np.dtype) -> Any:
    """f's value (with its aux when f has one) from the tape's outputs y, in f's structure."""
    if output.aux is None and type(output.main) is Leaf:  # one scalar or one array: the common case
        return leaf_result(y, output.main.shape, output.main.number, dtype)
    cursor = Cursor(y)

    def make(leaf: Leaf) -> Any:
        return leaf_result(cursor.take(leaf), leaf.shape, leaf.number, dtype)

    def frozen(spec: Static, value: Any) -> Any:
        return spec.key

    main = rebuild(output.main, make, frozen)
    if output.aux is None:
        return main
    return main, rebuild(output.aux, make, frozen)
