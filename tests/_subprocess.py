"""Running Python in a fresh interpreter that imports the fcnn_sk under test."""

import os
import subprocess
import sys

import fcnn_sk

# the directory holding the fcnn_sk package these tests imported: the installed one,
# or a source checkout built in place
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fcnn_sk.__file__)))


def run_python(args, cwd, env=None, timeout=600):
    """``python *args`` in ``cwd`` with extra environment variables ``env``; the
    completed process, its output as text."""
    path = [PACKAGE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(path)}
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
