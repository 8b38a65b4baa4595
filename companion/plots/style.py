"""The book's one figure style: resolution, width, font sizes, colours, and the one pyplot import.

Every figure function of ``companion.plots`` draws inside :func:`book_style` (through the
:func:`book_figure` decorator), so a figure looks the same whether or not the notebook set
anything up. A chapter calls :func:`use_book_style` once, after its imports, so that the figures it
draws itself (``plt.subplots`` in a cell) follow the same style, and so that IPython sends PNGs at
twice the resolution ("retina"), sharp on high-DPI screens.

The numbers behind the style:

* ``DPI = 100`` and ``WIDTH = 7.0`` inches: a figure of the full width is 700 CSS pixels, about
  the width of the book's text column at 1280 px, so it is shown at its own size, not shrunk; a
  point of font is then 100/72 = 1.39 pixels (10 pt: 14 px; 9 pt, the smallest text: 12.5 px).
* One font size scheme, ``FONT_SIZES``: body text and axis labels 10 pt, titles 11 pt, ticks,
  legends and annotations 9 pt.
* ``COLORS``: the Okabe-Ito palette (distinguishable with every common colour-vision
  deficiency) without its yellow, which vanishes on white. The figure is opaque white: in the
  book's dark mode the theme puts images on a light card, and an opaque white PNG reads the
  same in any viewer (a transparent one would put black text on a dark page).
"""

from __future__ import annotations

import contextlib
import functools

__all__ = [
    "DPI",
    "WIDTH",
    "FONT_SIZES",
    "COLORS",
    "RC",
    "pyplot",
    "book_style",
    "book_figure",
    "use_book_style",
    "color",
    "subplots",
    "shared_legend",
]

#: Resolution of every figure, in dots per inch (doubled for high-DPI screens by "retina").
DPI = 100

#: Width of a full-width figure in inches: ``WIDTH * DPI`` is about the book's text column.
WIDTH = 7.0

#: Font sizes in points, one scheme for the whole book.
FONT_SIZES = {"text": 10, "label": 10, "title": 11, "tick": 9, "legend": 9, "annotation": 9}

#: The colour cycle ``C0``, ``C1``, ...: blue, orange, green, vermilion, purple, sky blue, grey,
#: brown. ``C3`` stays a red, as figures use it for "the second, contrasting" curve.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#666666", "#8C564B")

#: The matplotlib settings of the style (``matplotlib.rcParams`` keys); the colour cycle
#: ``COLORS`` is added by ``_rc()``, which makes the cycler once matplotlib is imported.
RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": (WIDTH, 3.6),
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.facecolor": "white",
    "font.size": FONT_SIZES["text"],
    "axes.labelsize": FONT_SIZES["label"],
    "axes.titlesize": FONT_SIZES["title"],
    "figure.titlesize": FONT_SIZES["title"],
    "xtick.labelsize": FONT_SIZES["tick"],
    "ytick.labelsize": FONT_SIZES["tick"],
    "legend.fontsize": FONT_SIZES["legend"],
    "legend.title_fontsize": FONT_SIZES["legend"],
    "legend.framealpha": 0.9,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.0,
    "axes.grid": False,
    "grid.alpha": 0.3,
    "image.cmap": "viridis",
}


def color(i: int) -> str:
    """The ``i``-th colour of the cycle, as a hex string.

    Figures use this rather than the string ``"C{i}"``, which matplotlib resolves only when the
    figure is drawn, by then possibly outside the book's style.
    """
    return COLORS[i % len(COLORS)]


def pyplot():
    """``matplotlib.pyplot``, imported on first use: ``import companion`` stays light."""
    import matplotlib.pyplot as plt

    return plt


def _rc() -> dict:
    """``RC`` with the colour cycle made into a matplotlib cycler."""
    from cycler import cycler

    return {**RC, "axes.prop_cycle": cycler(color=list(COLORS))}


@contextlib.contextmanager
def book_style():
    """A context in which matplotlib draws in the book's style; the settings are restored after."""
    with pyplot().rc_context(_rc()):
        yield


def book_figure(draw):
    """Decorate a figure function so that it draws inside :func:`book_style`."""

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        with book_style():
            return draw(*args, **kwargs)

    return styled


def use_book_style() -> None:
    """Set the book's style for the rest of the session; under IPython, send retina PNGs.

    Call once at the top of a notebook, after importing pyplot. Outside IPython (a script, the
    tests) only the matplotlib settings change.
    """
    pyplot().rcParams.update(_rc())
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: nothing to configure
        return
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")


def subplots(nrows: int = 1, ncols: int = 1, *, height: float = 3.0, width: float = WIDTH,
             **kwargs):
    """``plt.subplots`` at the book's resolution and, by default, the column's full width.

    Parameters
    ----------
    nrows, ncols : int
    height, width : float, inches (``width`` at most ``WIDTH``, so the figure is never shrunk)
    kwargs : passed to ``plt.subplots`` (``sharex``, ``squeeze``, ``gridspec_kw``, ...)

    Returns
    -------
    (Figure, Axes or array of Axes), as ``plt.subplots``
    """
    if not 0 < width <= WIDTH:
        raise ValueError(f"width must be in (0, {WIDTH}] inches (the book's column), got {width!r}")
    return pyplot().subplots(nrows, ncols, figsize=(width, height), dpi=DPI, **kwargs)


def shared_legend(fig, axes, *, ncol: int = 4):
    """One legend for a figure of several panels, in a strip below them.

    Parameters
    ----------
    fig : matplotlib Figure
    axes : an Axes, or a sequence of Axes, whose labelled artists the legend lists (a label
        that appears in several, e.g. one optimizer in every panel, is listed once)
    ncol : int, entries per row

    Lays the figure out (``tight_layout``) with room at the bottom for the legend's rows, so
    call it last. Returns the ``matplotlib.legend.Legend``.
    """
    entries = {}
    for ax in ([axes] if hasattr(axes, "get_legend_handles_labels") else axes):
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    rows = -(-len(entries) // ncol)
    # a legend row is about 1.8 times the font size high, plus a little padding around the strip
    strip = (rows * 1.8 + 0.8) * FONT_SIZES["legend"] / 72 / fig.get_figheight()
    fig.tight_layout(rect=(0.0, strip, 1.0, 1.0))
    return fig.legend(list(entries.values()), list(entries), loc="lower center",
                      bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False)
