"""Compile the GPU kernels (tape/gpu_lanes.py) to PTX with NVVM, and assemble them with ptxas,
on a machine without a GPU: what tests/tape/test_gpu_lanes.py::test_kernels_compile_to_ptx runs
in a child process with NUMBA_ENABLE_CUDASIM=0.

numba-cuda asks the driver for the device's compute capability when it compiles a device
function, and NVRTC for the architectures it supports; neither exists without a GPU and the
full toolkit, so both answers are given here (sm_90, an H100's). Nothing is launched. Exit
status 77 (with the reason on stdout's last line): no libNVVM to compile with.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import types as pytypes

SKIP = 77
CC = (9, 0)

if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") != "0":
    sys.exit("run with NUMBA_ENABLE_CUDASIM=0")

from numba.cuda import cuda_paths  # noqa: E402
from numba.cuda.cudadrv import nvrtc  # noqa: E402

try:
    cuda_paths._get_nvvm_path()
except Exception as error:  # pathfinder's DynamicLibNotFoundError and kin
    print(f"no libNVVM to compile PTX with ({type(error).__name__})")
    sys.exit(SKIP)

import numba.cuda.dispatcher as cuda_dispatcher  # noqa: E402

nvrtc.get_supported_ccs = lambda: [CC]
try:
    cuda_paths._get_nvrtc_path()
except Exception:
    cuda_paths._get_nvrtc_path = lambda: cuda_paths._env_path_tuple("<not needed for PTX>", None)
cuda_dispatcher.get_current_device = lambda: pytypes.SimpleNamespace(compute_capability=CC)

from numba import cuda, types  # noqa: E402

from numba_ad.tape import gpu_lanes  # noqa: E402

INDEX, OPCODE, REAL = types.int32[::1], types.uint8[::1], types.float64[::1]
MATRIX, FAILED = types.float64[:, ::1], types.int64[::1]
TAPE = (OPCODE, INDEX, INDEX, REAL, INDEX, INDEX, INDEX, INDEX)  # TapeArrays' fields
KERNELS = {  # after the tape: X, P, the work buffers, flags, results, failed
    "_eval_kernel": (MATRIX, MATRIX, MATRIX, MATRIX, FAILED),
    "_gradient_kernel": (MATRIX,) * 6 + (REAL, MATRIX, FAILED),
    "_jacobian_kernel": (MATRIX,) * 6 + (types.boolean, types.float64[:, :, ::1], FAILED),
}

ptxas = shutil.which("ptxas") or next(iter(sorted(glob.glob("/usr/local/cuda*/bin/ptxas"))), None)
failures = 0
with tempfile.TemporaryDirectory() as folder:
    for name, rest in KERNELS.items():
        ptx, _ = cuda.compile_ptx(getattr(gpu_lanes, name).py_func, types.void(*TAPE, *rest), cc=CC)
        externs = [line.strip() for line in ptx.splitlines() if line.lstrip().startswith(".extern")]
        print(f"{name}: {len(ptx)} characters of PTX, externs: {externs}")
        failures += bool(externs)
        if ptxas:
            path = os.path.join(folder, f"{name}.ptx")
            with open(path, "w") as f:
                f.write(ptx)
            arch = f"-arch=sm_{CC[0]}{CC[1]}"
            run = subprocess.run([ptxas, arch, "-v", path, "-o", path + ".cubin"], capture_output=True, text=True)
            usage = [line for line in run.stderr.splitlines() if "registers" in line or "error" in line]
            print(f"  ptxas: exit {run.returncode}; {usage[:1]}")
            failures += run.returncode != 0
sys.exit(1 if failures else 0)
