"""Sphinx configuration of the fcnn_sk documentation.

Build from the root of a checkout, with fcnn_sk installed (``pip install ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The API pages are generated from the numpydoc docstrings of the installed package, the
user guide's option tables from its registries (``_ext/fcnn_docs.py``), the benchmark
tables from ``benchmarks/README.md``, and the gallery from ``examples/``, whose
scripts all run during the build.
"""

import os
import sys
import warnings

import fcnn_sk

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

project = "fcnn_sk"
author = "the fcnn_sk developers"
copyright = "the fcnn_sk developers, BSD-3-Clause"
version = release = fcnn_sk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "fcnn_docs",
]

# formulas as MathML (_ext/fcnn_docs.py): drawn by the browser, no script to load
html_math_renderer = "mathml"
templates_path = ["_templates"]
exclude_patterns = ["_build"]
root_doc = "index"
default_role = "literal"

# ---- API pages ------------------------------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"
# the methods are listed by the autosummary class template, once
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# ---- gallery --------------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # every example runs during the build
    "ignore_pattern": r"(__init__|/_[^/]*)\.py$",  # private helper modules are not examples
    "reference_url": {"fcnn_sk": None},
    # "Examples using fcnn_sk.X" on each API page
    "doc_module": ("fcnn_sk",),
    "backreferences_dir": "gen_modules/backreferences",
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 2,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# matplotlib draws without a display; the examples that plot say plt.show()
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="(Matplotlib is currently using agg|FigureCanvasAgg is non-interactive)",
)

# ---- HTML -----------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"fcnn_sk {release}"
html_static_path = ["_static"]
html_css_files = ["fcnn_sk.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # a table of contents beside the guide's pages; the API pages and the pages with
    # wide tables get the whole width
    "secondary_sidebar_items": {
        "user_guide/*": ["page-toc"],
        "user_guide/toolbox": [],
        "user_guide/performance": [],
        "user_guide/scaling": [],
        "user_guide/deployment": [],
        "generated/*": [],
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "api": []}
html_show_sourcelink = False
