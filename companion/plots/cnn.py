"""Figures of the convolutional-networks chapter (chapter 4).

* ``plot_map_grid(rows, ...)``: 2-D maps (images, kernels, feature maps) in a labelled grid, every
  map drawn at the same pixel scale, so a map that padding enlarges or a stride shrinks looks
  larger or smaller;
* ``plot_filter_comparison(stages, ...)``: the filters of a first convolution layer at several
  stages (say, initial and trained), one row per stage, each filter on one colour scale shared
  by all stages so that the change is visible;
* ``plot_receptive_fields(image, boxes, ...)``: rectangles on an image, one per layer, the
  input region one output unit of that layer sees.

Each function checks its input, draws one small figure and returns it; a notebook cell ends with
``plt.show()`` so that it appears once, as a PNG.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from companion._checks import check_array
from companion.plots import style

__all__ = ["plot_map_grid", "plot_filter_comparison", "plot_receptive_fields", ]




def _check_labels(labels, count: int, name: str, per: str) -> list[str]:
    """``labels`` as a list of ``count`` strings (one per ``per``), or a clear error."""
    if labels is None:
        return [""] * count
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(f"{name} must have {count} entries (one per {per}), got {len(labels)}")
    return labels


def _check_grid(rows) -> list[list[np.ndarray]]:
    """A non-empty list of non-empty rows of 2-D float arrays (None marks an empty cell)."""
    if not isinstance(rows, Sequence) or not rows or isinstance(rows, np.ndarray):
        raise TypeError("rows must be a non-empty list of rows, each a list of 2-D arrays")
    grid = []
    for r, row in enumerate(rows):
        if not isinstance(row, Sequence) or not row or isinstance(row, np.ndarray):
            raise TypeError(
                f"rows[{r}] must be a non-empty list of 2-D arrays, got {type(row).__name__}"
            )
        grid.append([None if m is None else check_array(m, f"rows[{r}][{c}]", ndim=2)
                     for c, m in enumerate(row)])
    if all(m is None for row in grid for m in row):
        raise ValueError("rows holds no array, only empty cells")
    return grid


@style.book_figure
def plot_map_grid(
    rows,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    signed: bool | Sequence[bool] = False,
    title: str = "",
    cell_size: float = 1.6,
):
    """Maps in a grid, all at the same pixel scale.

    Parameters
    ----------
    rows : list of lists of (h, w) float arrays, or None for an empty cell
        Row ``r``, column ``c`` is drawn in the grid cell ``(r, c)``. Rows may differ in length.
        Every axis spans the largest ``h`` and ``w`` of the whole grid, so a 13x13 map occupies a
        quarter of the area of a 26x26 one. Each map is centred in its cell.
    row_labels : sequence of str, one per row, optional (written left of the row)
    col_labels : sequence of str, one per column of the longest row, optional (titles)
    signed : bool, or one bool per row
        True: a diverging colour map (red positive, blue negative) with a symmetric scale per
        map, for edge responses and kernels; False: grey levels from the map's min to its max.
    title : str
    cell_size : float, inches per grid cell

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = _check_grid(rows)
    n_rows, n_cols = len(grid), max(len(row) for row in grid)
    row_labels = _check_labels(row_labels, n_rows, "row_labels", "row")
    col_labels = _check_labels(col_labels, n_cols, "col_labels", "column of the longest row")
    signs = [signed] * n_rows if isinstance(signed, bool) else [bool(s) for s in signed]
    if len(signs) != n_rows:
        raise ValueError(
            f"signed must be a bool or have {n_rows} entries (one per row), got {len(signs)}"
        )
    height = max(m.shape[0] for row in grid for m in row if m is not None)
    width = max(m.shape[1] for row in grid for m in row if m is not None)

    figsize = (cell_size * n_cols + 0.6, cell_size * n_rows + 0.3)
    fig, axes = style.subplots(n_rows, n_cols, width=min(figsize[0], style.WIDTH),
                               height=figsize[1], squeeze=False)
    for r, row in enumerate(grid):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            m = row[c] if c < len(row) else None
            if m is None:
                ax.axis("off")
                continue
            top, left = (height - m.shape[0]) / 2, (width - m.shape[1]) / 2
            extent = (left - 0.5, left + m.shape[1] - 0.5, top + m.shape[0] - 0.5, top - 0.5)
            if signs[r]:
                scale = float(np.abs(m).max()) or 1.0
                ax.imshow(m, cmap="RdBu_r", vmin=-scale, vmax=scale, extent=extent)
            else:
                ax.imshow(m, cmap="gray", extent=extent)
            ax.set_xlim(-0.5, width - 0.5)
            ax.set_ylim(height - 0.5, -0.5)
            ax.set_facecolor("0.93")
            for spine in ax.spines.values():
                spine.set_visible(False)
            ax.set_xlabel(f"{m.shape[0]}x{m.shape[1]}", labelpad=1, color="0.35")
        if row_labels[r]:
            axes[r, 0].set_ylabel(row_labels[r])
    for c, label in enumerate(col_labels):
        if label:
            axes[0, c].set_title(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_filter_comparison(stages: Mapping[str, np.ndarray], *, title: str = ""):
    """The filters of a first convolution layer at several stages, one row per stage.

    Parameters
    ----------
    stages : mapping label -> (O, 1, kH, kW) float array
        E.g. ``{"initial": w0, "after training": w1}``; all of one shape. Filter ``k`` is drawn
        on one symmetric colour scale (red positive, blue negative) shared by all stages, so a
        filter that grew or changed sign shows it.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(stages, Mapping) or not stages:
        raise TypeError("stages must be a non-empty mapping label -> (O, 1, kH, kW) array")
    arrays = [check_array(w, f"stages[{label!r}]", ndim=4) for label, w in stages.items()]
    shape = arrays[0].shape
    if shape[1] != 1 or any(w.shape != shape for w in arrays):
        raise ValueError(
            f"every stage must hold (O, 1, kH, kW) filters of one shape, got "
            f"{[w.shape for w in arrays]}"
        )
    n_filters = shape[0]
    scales = np.max([np.abs(w[:, 0]).max(axis=(1, 2)) for w in arrays], axis=0)
    scales[scales == 0] = 1.0
    figsize = (0.9 * n_filters + 1.2, 0.95 * len(arrays) + 0.4)
    fig, axes = style.subplots(len(arrays), n_filters, width=min(figsize[0], style.WIDTH),
                               height=figsize[1], squeeze=False)
    for r, (label, w) in enumerate(zip(stages, arrays)):
        for k in range(n_filters):
            ax = axes[r, k]
            ax.imshow(w[k, 0], cmap="RdBu_r", vmin=-scales[k], vmax=scales[k])
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"filter {k}")
        axes[r, 0].set_ylabel(label)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_receptive_fields(image: np.ndarray, boxes: Mapping[str, tuple[int, int, int, int]], *,
                          title: str = ""):
    """Rectangles on ``image``: the input region one output unit of each layer sees.

    Parameters
    ----------
    image : (H, W) float array, drawn dark on light
    boxes : mapping label -> (top, left, height, width) in pixels, ints, in the order to draw;
        e.g. the bounding box of the input pixels that receive a unit's gradient
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Rectangle

    check_array(image, "image", ndim=2)
    if not isinstance(boxes, Mapping) or not boxes:
        raise TypeError("boxes must be a non-empty mapping label -> (top, left, height, width)")
    for label, box in boxes.items():
        ok = isinstance(box, (tuple, list)) and len(box) == 4 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in box)
        if not ok or min(box[2:]) < 1:
            raise ValueError(
                f"boxes[{label!r}] must be 4 ints (top, left, height, width) with height and "
                f"width >= 1, got {box!r}"
            )
    h, w = image.shape
    fig, ax = style.subplots(height=3.4, width=5.6)
    ax.imshow(image, cmap="gray_r")
    colors = style.pyplot().get_cmap("viridis")(np.linspace(0.0, 0.85, len(boxes)))
    for color, (label, (top, left, height, width)) in zip(colors, boxes.items()):
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, lw=2, ec=color,
                               label=f"{label}: {height}x{width}"))
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
