"""Every test run gets a fresh numba cache unless one is set (make test sets a new one):
numba's cache does not notice edits to an @njit helper in another module.

Under pytest-xdist (make test runs two workers) each worker gets a cache folder of its own:
numba's cache is not safe against two processes writing one index at once (numba issue 4807).
This runs before any test module imports numba, which reads NUMBA_CACHE_DIR once, at import.
"""

import os
import tempfile

# Tests of the GPU code (device="cuda") run under numba's CUDA simulator unless a GPU machine
# sets NUMBA_ENABLE_CUDASIM=0; numba.cuda reads it once, when first imported, which is later.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba_ad_test_cache_")
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and not os.environ["NUMBA_CACHE_DIR"].rstrip(os.sep).endswith(_worker):
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(os.environ["NUMBA_CACHE_DIR"], _worker)
    os.makedirs(os.environ["NUMBA_CACHE_DIR"], exist_ok=True)

# The user primitives at registry indices 0 and 1 (the USER1 / USER2 rows' test_c): registered
# before any test module can register one of its own.
from tests._support import primitives  # noqa: E402

assert (primitives.UNARY.index, primitives.BINARY.index) == (0, 1), "registered before any other primitive"
