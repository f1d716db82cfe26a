#!/usr/bin/env bash
# The kernels under AddressSanitizer + UndefinedBehaviorSanitizer, and under Cython's
# bounds checks: build each in a scratch copy of this checkout (the checkout's own
# build is left alone) and run the kernel, oracle, guard, bad-input and property tests
# against it. Any sanitizer report, failed check or failed test fails the script.
#
#   .ci/sanitize.sh            both runs
#   .ci/sanitize.sh asan       only the sanitizer run
#   .ci/sanitize.sh debug      only the bounds-checked run
#
# Needs a GCC or Clang with the sanitizer runtimes, and a Python environment with the
# build and test requirements (Cython, numpy, scipy, scikit-learn, pytest, hypothesis):
# the one that `python` (or $PYTHON) runs. Takes several minutes on two cores; run it
# before each release and after any change to csrc/.
#
# CPython is not built with ASan, so the runtime is preloaded (it must come first in
# the library list) and leak detection is off: the interpreter keeps memory to the
# end on purpose. The sanitizers halt on the first report.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
python="${PYTHON:-python}"
which="${1:-all}"
cc="${CC:-gcc}"

tests=(tests/test_kernels_oracle.py tests/test_losses_oracle.py
       tests/test_gradients_fd.py tests/test_lbfgs.py tests/test_guards.py
       tests/test_bad_input.py tests/test_properties.py)

scratch="$(mktemp -d "${TMPDIR:-/tmp}/fcnn-sanitize.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# build_copy NAME ENV...: a copy of the sources in $scratch/NAME, built in place with
# the given environment
build_copy() {
    local name="$1"
    shift
    local dir="$scratch/$name"
    mkdir -p "$dir"
    # setup.py alone builds in place (pyproject.toml, copied after, only configures
    # pytest here; setuptools before 77 would reject its SPDX license field)
    tar -C "$root" --exclude='*.so' --exclude='*.c' --exclude='__pycache__' \
        -cf - setup.py README.md csrc fcnn_sk tests | tar -C "$dir" -xf -
    echo "== building $name ($*)" >&2
    (cd "$dir" && env "$@" "$python" setup.py build_ext --inplace -q >"$dir/build.log" 2>&1) \
        || { cat "$dir/build.log" >&2; return 1; }
    cp "$root/pyproject.toml" "$dir/"
    echo "$dir"
}

# run_tests DIR LOG ENV...: the tests of DIR against its build, output in LOG
run_tests() {
    local dir="$1" log="$2"
    shift 2
    (cd "$dir" && env PYTHONPATH="$dir" "$@" "$python" -m pytest -q -p no:cacheprovider \
        "${tests[@]}") >"$log" 2>&1 || { tail -n 80 "$log"; echo "FAILED: see $log"; return 1; }
    tail -n 1 "$log"
}

status=0

if [[ "$which" == all || "$which" == asan ]]; then
    asan="$("$cc" -print-file-name=libasan.so)"
    [[ -e "$asan" ]] || { echo "no libasan.so for $cc"; exit 1; }
    dir="$(build_copy asan FCNN_SK_SANITIZE=address,undefined)"
    for so in "$dir"/fcnn_sk/*.so; do  # instrumented, or the run would prove nothing
        symbols="$(nm -D "$so")"
        [[ "$symbols" == *__asan_report* ]] || { echo "$so: no ASan"; exit 1; }
        [[ "$symbols" == *__ubsan_handle* ]] || { echo "$so: no UBSan"; exit 1; }
    done
    log="$root/build/sanitize-asan.log"
    mkdir -p "$root/build"
    echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (preloading $asan)"
    run_tests "$dir" "$log" LD_PRELOAD="$asan" \
        ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" || status=1
    if grep -E "runtime error:|ERROR: AddressSanitizer|UndefinedBehaviorSanitizer" "$log"; then
        echo "sanitizer reports: see $log"
        status=1
    else
        echo "no sanitizer report"
    fi
fi

if [[ "$which" == all || "$which" == debug ]]; then
    dir="$(build_copy debug FCNN_SK_DEBUG=1)"
    log="$root/build/sanitize-debug.log"
    mkdir -p "$root/build"
    echo "== tests with Cython's bounds checks"
    run_tests "$dir" "$log" || status=1
fi

exit "$status"
