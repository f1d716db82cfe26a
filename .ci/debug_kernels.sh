#!/usr/bin/env bash
# Build the kernels with Cython's bounds, wraparound and initialisation checks on
# (FCNN_SK_DEBUG=1, see setup.py) and run the tests that call them directly against
# that build. The build happens in a temporary copy of this checkout (tracked and
# untracked, not ignored, files), in pip's isolated build environment; nothing here
# changes. Needs the test requirements in the active Python (README: `.[test]`).
set -euo pipefail
cd "$(dirname "$0")/.."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
git ls-files -z --cached --others --exclude-standard \
    | tar --null -T - -cf - | tar -xf - -C "$tmp/src"

FCNN_SK_DEBUG=1 python -m pip wheel --quiet --no-deps --wheel-dir "$tmp/wheel" "$tmp/src"
python -m pip install --quiet --no-deps --target "$tmp/site" "$tmp"/wheel/*.whl

cd "$tmp"  # so that no source checkout shadows the debug build
export PYTHONPATH="$tmp/site"
python - <<'CHECK'
import numpy as np
import fcnn_sk
from fcnn_sk import _compiled

print("fcnn_sk from", fcnn_sk.__path__[0])
for name, kernels in _compiled.available().items():
    empty = np.empty(0)
    try:  # indexes the first element of empty arrays
        kernels.lbfgs_direction(empty, np.empty((1, 0)), np.empty((1, 0)),
                                np.empty(1), np.empty(1), 0, 0, 1.0, empty)
    except IndexError:
        print(f"{name} build: bounds checked")
    else:
        raise SystemExit(f"{name} build: no bounds checks; not a debug build")
CHECK
python -m pytest -q -p no:cacheprovider \
    src/tests/test_kernels_oracle.py src/tests/test_losses_oracle.py \
    src/tests/test_gradients_fd.py src/tests/test_lbfgs.py \
    src/tests/test_compiled.py src/tests/test_kernel_boundary.py \
    src/tests/test_interrupt.py
