"""Draws the README's picture, ``docs/_static/training_curve.png``: the first figure of
the gallery example ``examples/plot_training_curve.py``.

    python docs/readme_figure.py [PATH]

``tests/test_readme_figure.py`` draws it again and compares it with the file.
"""

import runpy
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "docs" / "_static" / "training_curve.png"


def draw(path=PICTURE):
    """Run the example and save its first figure to ``path``."""
    plt.close("all")
    runpy.run_path(str(ROOT / "examples" / "plot_training_curve.py"))
    plt.figure(1).savefig(path, dpi=72)
    plt.close("all")


if __name__ == "__main__":
    draw(*sys.argv[1:])
