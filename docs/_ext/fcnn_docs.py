"""Sphinx directives that write tables from their sources at build time.

``.. registry-table:: activation`` renders one of fcnn_sk's registries
(``fcnn_sk._registry.REGISTRIES``, keyed by the estimator parameter that names its
entries): one row per option with its one-line doc, the parameters it reads and what
it implies, so the user guide lists exactly the options the estimators accept.

``.. benchmark-table:: Memory`` renders the first Markdown table below the first
heading of ``benchmarks/README.md`` that contains the given text, so the figures in
the docs are the measured ones, in one place.

The ``mathml`` math renderer writes ``:math:`` and ``.. math::`` as MathML
(latex2mathml), which browsers draw natively: the pages need no script and no
network to show their formulas.
"""

import html
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList
from latex2mathml.converter import convert as latex_to_mathml
from sphinx.util import logging

from fcnn_sk._registry import REGISTRIES

logger = logging.getLogger(__name__)
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "README.md"


def _literals(names):
    return ", ".join(f"``{name}``" for name in names)


# per registry: (header, cell of an entry) for each column
_COLUMNS = {
    "activation": [
        ("``activation=``", lambda name, e: f"``'{name}'``"),
        ("f(z)", lambda name, e: e.doc),
        ("also reads", lambda name, e: _literals(e.params)),
    ],
    "loss": [
        ("loss", lambda name, e: f"``'{name}'``"),
        ("estimator", lambda name, e: _ESTIMATOR[e.task]),
        ("output activation", lambda name, e: f"``{e.link}``"),
        ("what it is", lambda name, e: e.doc),
        ("also reads", lambda name, e: _literals(e.params)),
    ],
    "solver": [
        ("``solver=``", lambda name, e: f"``'{name}'``"),
        ("what it is", lambda name, e: e.doc),
        ("mini-batches", lambda name, e: "yes" if e.stochastic else "no (full batch)"),
        ("also reads", lambda name, e: _literals(e.params)),
        ("state kept between fits", lambda name, e: _literals(e.state)),
    ],
    "learning_rate": [
        ("``learning_rate=``", lambda name, e: f"``'{name}'``"),
        ("rule", lambda name, e: e.doc),
    ],
    "weight_init": [
        ("``weight_init=``", lambda name, e: f"``'{name}'``"),
        ("draw", lambda name, e: e.doc),
    ],
}

_ESTIMATOR = {"classification": "classifier", "regression": "regressor"}


def _list_table(header, rows, caption=None, css_class=None):
    """The reST of a ``list-table`` with a header row."""
    lines = [f".. list-table:: {caption or ''}".rstrip(), "   :header-rows: 1"]
    lines.append("   :widths: auto")
    if css_class:
        lines.append(f"   :class: {css_class}")
    lines.append("")
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            lines.append(("   * - " if i == 0 else "     - ") + (cell or ""))
    return lines


class _TableDirective(Directive):
    def render(self, lines):
        container = nodes.container()
        self.state.nested_parse(
            StringList(lines, source=self.__class__.__name__),
            self.content_offset,
            container,
        )
        return container.children


class RegistryTable(_TableDirective):
    """``.. registry-table:: <parameter>``: the options of one registry."""

    required_arguments = 1
    option_spec = {"caption": directives.unchanged}

    def run(self):
        parameter = self.arguments[0]
        if parameter not in REGISTRIES:
            raise self.error(
                f"no registry {parameter!r}; the registries are {sorted(REGISTRIES)}"
            )
        columns = _COLUMNS[parameter]
        rows = [
            [cell(name, entry) for _, cell in columns]
            for name, entry in REGISTRIES[parameter].items()
        ]
        # drop columns that are empty for every entry
        keep = [i for i in range(len(columns)) if any(row[i] for row in rows)]
        header = [columns[i][0] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
        return self.render(
            _list_table(
                header, rows, caption=self.options.get("caption"), css_class="options"
            )
        )


def _markdown_inline(text):
    """Markdown's inline code and links, as reST."""
    text = re.sub(r"`([^`]+)`", r"``\1``", text)
    return re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)


def benchmark_table(heading, path=BENCHMARKS):
    """``(header, rows)`` of the first table under the first heading of ``path``
    that contains ``heading``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.startswith("#") and heading in line),
        None,
    )
    if start is None:
        raise ValueError(f"no heading containing {heading!r} in {path}")
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("#") and not table:
            break  # the next section began before any table
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    if len(table) < 3:
        raise ValueError(f"no table under the heading {heading!r} in {path}")

    def cells(line):
        return [_markdown_inline(c.strip()) for c in line.strip().strip("|").split("|")]

    return cells(table[0]), [cells(line) for line in table[2:]]


class BenchmarkTable(_TableDirective):
    """``.. benchmark-table:: <heading text>``: a table of benchmarks/README.md."""

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"caption": directives.unchanged}

    def run(self):
        self.state.document.settings.record_dependencies.add(str(BENCHMARKS))
        try:
            header, rows = benchmark_table(self.arguments[0])
        except (OSError, ValueError) as exc:
            raise self.error(str(exc)) from None
        return self.render(
            _list_table(
                header, rows, caption=self.options.get("caption"), css_class="benchmark"
            )
        )


# scikit-learn's labels and glossary terms that the docstrings of the methods the
# estimators inherit from it refer to, resolved to its documentation (no intersphinx:
# the build needs no network)
_SKLEARN = "https://scikit-learn.org/stable/"
SKLEARN_TARGETS = {
    "metadata_routing": "metadata_routing.html",
    "meta-estimator": "glossary.html#term-meta-estimator",
    "df_output_transform": "auto_examples/miscellaneous/plot_set_output.html",
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html"
    ),
    "r2_score": "modules/model_evaluation.html#r2-score",
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
}


def _sklearn_reference(app, env, node, contnode):
    """Resolve the references to scikit-learn's classes and functions, and those of
    its inherited docstrings, to its site."""
    target = node.get("reftarget", "")
    if node.get("refdomain") == "py" and target.startswith("sklearn."):
        if node.get("reftype") not in ("class", "func", "obj"):
            return None
        uri = f"{_SKLEARN}modules/generated/{target}.html"
        return nodes.reference("", "", contnode, internal=False, refuri=uri)
    if node.get("refdomain") != "std" or node.get("reftype") not in ("ref", "term"):
        return None
    key = target.lower() if node.get("reftype") == "term" else target
    if key not in SKLEARN_TARGETS:
        return None
    reference = nodes.reference(
        "", "", internal=False, refuri=_SKLEARN + SKLEARN_TARGETS[key]
    )
    reference.append(contnode)
    return reference


def _mathml(latex, display, node):
    try:
        return latex_to_mathml(latex, display=display)
    except Exception as exc:  # any parse error of the LaTeX
        logger.warning(f"cannot convert the formula {latex!r}: {exc}", location=node)
        return f"<code>{html.escape(latex)}</code>"


def _visit_inline_math(self, node):
    self.body.append(_mathml(node.astext(), "inline", node))
    raise nodes.SkipNode


def _visit_block_math(self, node):
    parts = [node.astext()] if node.get("nowrap") else node.astext().split("\n\n")
    self.body.append('<div class="math-block">')
    self.body.extend(
        _mathml(r"\displaystyle " + p.strip(), "block", node)
        for p in parts
        if p.strip()
    )
    self.body.append("</div>")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(_visit_inline_math, None),
        block_renderers=(_visit_block_math, None),
    )
    app.connect("missing-reference", _sklearn_reference)
    app.add_directive("registry-table", RegistryTable)
    app.add_directive("benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
