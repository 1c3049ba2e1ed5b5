"""Every test run gets a fresh numba cache unless one is set (make test sets a new one):
numba's cache does not notice edits to an @njit helper in another module."""

import os
import tempfile

if "NUMBA_CACHE_DIR" not in os.environ:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba_ad_test_cache_")
