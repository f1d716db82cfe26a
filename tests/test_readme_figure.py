"""The README's picture is what the training-curve example draws today."""

import runpy
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
from matplotlib.testing.compare import compare_images

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "readme_figure.py"


def test_readme_picture_is_current(tmp_path):
    helper = runpy.run_path(str(SCRIPT))
    drawn = tmp_path / "training_curve.png"
    helper["draw"](drawn)
    # the same code draws the same pixels (matplotlib bundles its font renderer); one
    # changed character in the title already gives an RMS of 2.8
    problem = compare_images(str(helper["PICTURE"]), str(drawn), tol=1)
    assert problem is None, f"{problem}: run `python docs/readme_figure.py`"
