"""numba_ad.dask: the *_many methods over Dask arrays, on the threaded and multiprocessing
schedulers and on a real dask.distributed LocalCluster of two worker processes on this machine
(started and stopped here). Every answer equals the local *_many bit for bit."""

import os
import tempfile

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest

import numba_ad as ad
import numba_ad.dask as nd
from tests._support.small_functions import branchy, p2, vector_f

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def p2_tape():
    return ad.trace(p2, np.linspace(0.2, 1.0, 10))


@pytest.fixture(scope="module")
def vector_tape():
    return ad.trace(vector_f, np.array([0.3, 0.7, 1.1]), params=np.array([2.0, 0.5]))


def _points(N, n, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.5, (N, n))


def test_every_method_on_threads_equals_the_local_one(p2_tape):
    X = _points(2500, 10)
    G = nd.gradient_many(p2_tape, X, chunk_rows=700)
    assert isinstance(G, da.Array) and G.chunks[0] == (700, 700, 700, 400)
    np.testing.assert_array_equal(G.compute(), p2_tape.gradient_many(X))
    values, G = dask.compute(*nd.value_and_gradient_many(p2_tape, X, chunk_rows=700))
    local_values, local_G = p2_tape.value_and_gradient_many(X)
    np.testing.assert_array_equal(values, local_values)
    np.testing.assert_array_equal(G, local_G)
    E = nd.eval_many(p2_tape, da.from_array(X, chunks=(600, 3)))  # column chunks are joined
    assert E.shape == (2500,)
    np.testing.assert_array_equal(E.compute(), p2_tape.eval_many(X))
    J = nd.jacobian_many(p2_tape, X, chunk_rows=1000)
    np.testing.assert_array_equal(J.compute(), p2_tape.jacobian_many(X))


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_vector_tape_with_shared_and_per_point_params(vector_tape, mode):
    X = _points(900, 3, seed=1)
    P = _points(900, 2, seed=2)
    shared = np.array([1.5, -0.5])
    for params in (shared, P, da.from_array(P, chunks=(100, 2))):
        params_local = params.compute() if isinstance(params, da.Array) else params
        J = nd.jacobian_many(vector_tape, X, params, mode=mode, chunk_rows=250)
        assert J.shape == (900, 3, 3)
        np.testing.assert_array_equal(J.compute(), vector_tape.jacobian_many(X, params_local, mode=mode))
        E = nd.eval_many(vector_tape, X, params, chunk_rows=250)
        np.testing.assert_array_equal(E.compute(), vector_tape.eval_many(X, params_local))


def test_compiled_tape_and_the_processes_scheduler(p2_tape):
    compiled = p2_tape.compile()
    X = _points(3000, 10, seed=3)
    G = nd.gradient_many(compiled, X, chunk_rows=1000).compute(scheduler="processes", num_workers=2)
    np.testing.assert_array_equal(G, compiled.gradient_many(X))
    E = nd.eval_many(compiled, X, chunk_rows=1000).compute(scheduler="processes", num_workers=2)
    np.testing.assert_array_equal(E, p2_tape.eval_many(X))


def test_a_point_off_the_branch_raises_naming_its_chunk():
    tape = ad.trace(branchy, np.array([0.5, 1.0, 2.0]))
    X = np.abs(_points(100, 3, seed=4)) + 0.1
    X[73, 0] = -1.0
    with pytest.raises(ad.BranchChangedError, match="branch changed") as caught:
        nd.gradient_many(tape, X, chunk_rows=30).compute()
    notes = "\n".join(caught.value.__notes__)
    assert "rows 60..89 of X" in notes and "row 13" in notes  # row 73 is row 13 of its chunk


def test_bad_arguments_are_refused_before_anything_runs(p2_tape, vector_tape):
    with pytest.raises(ValueError, match=r"X must have shape \(N, 10\)"):
        nd.gradient_many(p2_tape, np.ones((5, 9)))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 10\)"):
        nd.gradient_many(p2_tape, np.ones(10))
    with pytest.raises(TypeError, match="real numbers"):
        nd.gradient_many(p2_tape, da.ones((5, 10), dtype=complex))
    with pytest.raises(ValueError, match="gradient_many needs a scalar tape"):
        nd.gradient_many(vector_tape, np.ones((5, 3)), np.ones(2))
    with pytest.raises(ValueError, match="recorded with 2 parameters"):
        nd.jacobian_many(vector_tape, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"params must have shape \(2,\) or \(5, 2\)"):
        nd.jacobian_many(vector_tape, np.ones((5, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="without parameters"):
        nd.gradient_many(p2_tape, np.ones((5, 10)), np.ones(2))
    with pytest.raises(TypeError, match="fn.tape_at"):
        nd.gradient_many(ad.function(p2), np.ones((5, 10)))
    with pytest.raises(ValueError, match="mode must be"):
        nd.jacobian_many(p2_tape, np.ones((5, 10)), mode="sideways")


@pytest.fixture(scope="module")
def cluster_client():
    """A LocalCluster of two worker processes (one thread each, numba on one thread each, as
    two cores give), on localhost only, stopped after the module."""
    from distributed import Client

    with nd.local_cluster(2, numba_threads=1) as cluster, Client(cluster) as client:
        yield client


def _numba_threads_of_a_task(tape):
    import numba

    nd._evaluate("eval_many", nd._Shipped(tape), np.zeros((1, tape.n_inputs)), None)
    return numba.get_num_threads()


def test_local_cluster_workers_run_numba_on_the_threads_asked(cluster_client, p2_tape):
    futures = [cluster_client.submit(_numba_threads_of_a_task, p2_tape, pure=False) for _ in range(4)]
    assert {f.result() for f in futures} == {1}
    with pytest.raises(ValueError, match="positive integer"):
        nd.NumbaThreads(0)


def test_local_cluster_gives_the_local_answers_and_ships_the_tape_once_per_worker(cluster_client, p2_tape):
    X = _points(4000, 10, seed=5)
    expected = p2_tape.gradient_many(X)  # compiled here first: the workers load it from the cache
    G = nd.gradient_many(p2_tape, X, chunk_rows=200)  # 20 tasks
    np.testing.assert_array_equal(cluster_client.compute(G).result(), expected)
    token = nd.token_of(p2_tape)
    counts = cluster_client.run(nd.receive_counts)
    received = [c.get(token, 0) for c in counts.values()]
    assert max(received) == 1 and sum(received) >= 1  # once per worker that ran a task, not per task
    # a second computation with the same tape unpickles nothing new
    np.testing.assert_array_equal(cluster_client.compute(G * 1.0).result(), expected)
    assert [c.get(token, 0) for c in cluster_client.run(nd.receive_counts).values()] == received
    # a compiled tape travels as its source and loads from each worker's own numba cache
    compiled = p2_tape.compile()
    G = cluster_client.compute(nd.gradient_many(compiled, X, chunk_rows=500)).result()
    np.testing.assert_array_equal(G, compiled.gradient_many(X))


def test_local_cluster_with_a_primitive_defined_here(cluster_client):
    cube = ad.primitive(lambda x: x * x * x, lambda x: 3.0 * x * x, name="test_dask.cube")
    tape = ad.trace(lambda x: cube(x[0]) * np.exp(x[1]) + cube(x[1]), np.array([0.5, 0.25]))
    X = _points(1000, 2, seed=6)
    values, G = nd.value_and_gradient_many(tape, X, chunk_rows=250)
    values, G = cluster_client.compute([values, G], sync=True)
    np.testing.assert_array_equal(G, tape.gradient_many(X))
    np.testing.assert_array_equal(values, tape.eval_many(X))


def test_a_worker_that_dies_has_its_chunk_recomputed(p2_tape):
    """The first task to run kills its worker process; Dask recomputes the lost chunks on the
    other worker (and the restarted one) and the answer is unchanged."""
    from distributed import Client

    X = _points(3000, 10, seed=7)
    expected = p2_tape.gradient_many(X)
    marker = os.path.join(tempfile.mkdtemp(), "died")

    def install_crash(marker=marker):
        import numba_ad.dask as worker_nd

        evaluate = worker_nd._evaluate

        def crash_once(*args):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return evaluate(*args)
            os._exit(1)  # the worker process dies mid-task

        worker_nd._evaluate = crash_once

    with nd.local_cluster(2, numba_threads=1) as cluster, Client(cluster) as client:
        client.run(cloudpickle.loads(cloudpickle.dumps(install_crash)))
        G = client.compute(nd.gradient_many(p2_tape, X, chunk_rows=300)).result(timeout=300)
    assert os.path.exists(marker)  # a worker did die
    np.testing.assert_array_equal(G, expected)
