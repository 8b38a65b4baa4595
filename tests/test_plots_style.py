"""companion.plots.style: every figure of the book drawn in one style.

``CATALOG`` draws every public figure function of ``companion.plots`` with small, made-up data;
the tests check on each figure what a reader would see: the resolution, a width that fits the
book's column, one font size per role (titles, axis labels, ticks, legends), and legends that
stay inside the saved figure. Run as a script, it writes every figure to a folder as PNG for a
look: ``python tests/test_plots_style.py FOLDER``.
"""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion import numerics
from companion.numpy_impl.optim import SGD, Adam
from companion.plots import (
    algorithms,
    cnn,
    concepts,
    formulas,
    optimizers,
    outlook,
    regularization,
    rnn,
    style,
    training,
)
from companion.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(epochs=6, seed=0):
    rng = np.random.default_rng(seed)
    train = np.geomspace(1.0, 0.05, epochs)
    return History(impl="numpy", train_loss=list(train), train_acc=list(1 - train / 2),
                   val_loss=list(train * 1.5 + 0.05), val_acc=list(1 - train / 1.6 - 0.02),
                   step_loss=list(np.repeat(train, 20) * rng.uniform(0.8, 1.2, 20 * epochs)))


def _catalog():
    """name -> a function that draws that figure, returning the Figure."""
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(12, 28, 28))
    labels = rng.integers(0, 10, 12)
    bowl = np.array([[3.0, 1.0], [1.0, 2.0]])
    gd = {f"lr {lr}": np.array([(1 - lr * 2.5) ** t * np.array([1.0, -0.8]) for t in range(15)])
          for lr in (0.1, 0.3, 0.7)}
    points = rng.normal(size=(40, 2))
    xx, yy, grid = numerics.decision_grid(points, resolution=30)
    prob = 1 / (1 + np.exp(-(grid @ np.array([2.0, -1.0])))).reshape(xx.shape)
    rosen, beale = numerics.rosenbrock(), numerics.beale()
    makers = {"SGD": lambda p: SGD(p, lr=1e-3), "momentum": lambda p: SGD(p, lr=1e-3, momentum=0.9),
              "Adam": lambda p: Adam(p, lr=0.05)}
    rosen_paths = {k: numerics.trajectory(m, rosen, (-1.5, 2.5), 200) for k, m in makers.items()}
    beale_paths = {k: numerics.trajectory(m, beale, (1.0, 1.5), 200) for k, m in makers.items()}
    w, b = np.linspace(-2, 2, 30), np.linspace(-1, 3, 25)
    surface = 0.1 + (w[None, :] - 1) ** 2 + (b[:, None] - 0.5) ** 2
    signal = np.sin(np.linspace(0, 6 * np.pi, 120))
    counts = {"train": rng.integers(900, 1100, 10), "test": rng.integers(90, 110, 10)}
    histories = {"no penalty": _history(seed=1), "L2": _history(seed=2),
                 "dropout": _history(seed=3)}
    matrix = rng.integers(0, 5, (10, 10)) + np.diag(np.full(10, 90))
    return {
        "algorithms.plot_gd_paths": lambda: algorithms.plot_gd_paths(bowl, gd),
        "algorithms.plot_decision_boundaries": lambda: algorithms.plot_decision_boundaries(
            xx, yy, [prob, prob ** 2], points, (points[:, 0] > 0).astype(int),
            titles=["step 10", "step 100"]),
        "algorithms.plot_learning_curves": lambda: algorithms.plot_learning_curves(
            {"a": (np.arange(1.0, 11), np.geomspace(1, 0.1, 10)),
             "b": (np.arange(1.0, 11), np.geomspace(2, 0.3, 10))}, xlabel="epoch"),
        "cnn.plot_map_grid": lambda: cnn.plot_map_grid(
            [[images[0], images[1][:13, :13]], [images[2]]], row_labels=["a", "b"],
            col_labels=["input", "pooled"], signed=[False, True], title="maps"),
        "cnn.plot_filter_comparison": lambda: cnn.plot_filter_comparison(
            {"initial": rng.normal(size=(6, 1, 5, 5)), "trained": rng.normal(size=(6, 1, 5, 5))}),
        "cnn.plot_receptive_fields": lambda: cnn.plot_receptive_fields(
            images[0], {"conv1": (10, 10, 5, 5), "conv2": (8, 8, 9, 9)}, title="fields"),
        "concepts.plot_shift_equivariance": lambda: concepts.plot_shift_equivariance(
            images[0], np.roll(images[0], 3, axis=1), images[1][:24, :24],
            np.roll(images[1][:24, :24], 3, axis=1), shift=(0, 3)),
        "concepts.plot_attention_weights": lambda: concepts.plot_attention_weights(
            np.full((4, 5), 0.2)),
        "concepts.plot_loss_curve": lambda: concepts.plot_loss_curve(
            np.geomspace(2, 0.1, 50), marks={"retrain": 20}),
        "concepts.plot_digits": lambda: concepts.plot_digits(images, labels, labels[::-1].copy()),
        "formulas.plot_activations": lambda: formulas.plot_activations(),
        "formulas.plot_losses": lambda: formulas.plot_losses(),
        "formulas.plot_loss_surface": lambda: formulas.plot_loss_surface(
            w, b, surface, paths={"GD": np.linspace([-1.5, 2.5], [1, 0.5], 30)}),
        "optimizers.plot_paths": lambda: optimizers.plot_paths(rosen, rosen_paths),
        "optimizers.plot_path_panels": lambda: optimizers.plot_path_panels(
            {"Rosenbrock": (rosen, rosen_paths), "Beale": (beale, beale_paths)}),
        "optimizers.plot_curves": lambda: optimizers.plot_curves(
            {k: rosen.gap(p) for k, p in rosen_paths.items()}, ylabel="f - f*"),
        "outlook.plot_filter": lambda: outlook.plot_filter(
            signal + 0.3 * rng.normal(size=120), signal, signal * 0.9, np.ones(5) / 5),
        "outlook.plot_parameter_counts": lambda: outlook.plot_parameter_counts(
            {"LeNet": 61_706, "GPT-3": 175_000_000_000, "MLP": 101_770}, highlight=["LeNet"]),
        "outlook.plot_saliency": lambda: outlook.plot_saliency(
            images[:4], rng.normal(size=(4, 28, 28)), ["0", "1", "2", "3"]),
        "outlook.plot_accuracy_curves": lambda: outlook.plot_accuracy_curves(
            np.linspace(0, 0.3, 7), {"MLP": np.linspace(0.98, 0.1, 7),
                                     "CNN": np.linspace(0.99, 0.3, 7)}, xlabel="epsilon"),
        "regularization.plot_overfitting": lambda: regularization.plot_overfitting(
            _history(), stop_epoch=3),
        "regularization.plot_weight_histograms": lambda: regularization.plot_weight_histograms(
            {"no penalty": rng.normal(size=500), "L1": rng.laplace(size=500) * 0.1}),
        "regularization.plot_input_weight_maps": lambda: regularization.plot_input_weight_maps(
            {"no penalty": rng.normal(size=(8, 784)), "L1": rng.laplace(size=(8, 784))}),
        "regularization.plot_regularization_comparison":
            lambda: regularization.plot_regularization_comparison(
                histories, {"no penalty": 0.95, "L2": 0.96, "dropout": 0.97}),
        "rnn.plot_gradient_norms": lambda: rnn.plot_gradient_norms(
            [1, 10, 100], {"tanh": [1.0, 1e-3, 1e-9], "identity": [1.0, 2.0, 8.0]},
            bounds={"tanh": [1.0, 1e-2, 1e-7]}),
        "rnn.plot_clipping": lambda: rnn.plot_clipping(
            {"clipped": np.geomspace(1, 10, 50), "plain": np.geomspace(1, 1e4, 50)},
            {"clipped": np.geomspace(2, 0.5, 50), "plain": np.geomspace(2, 5, 50)}, max_norm=1.0),
        "rnn.plot_step_losses": lambda: rnn.plot_step_losses(
            {"LSTM": np.geomspace(2, 0.1, 100), "RNN": np.geomspace(2, 0.5, 100)},
            {"LSTM": 0.98, "RNN": 0.9}),
        "training.plot_digit_grid": lambda: training.plot_digit_grid(
            images, [str(k) for k in labels], title="digits"),
        "training.plot_class_counts": lambda: training.plot_class_counts(
            counts, title="digit frequencies"),
        "training.plot_histories": lambda: training.plot_histories(
            {"NumPy": _history(seed=4), "torch": _history(seed=5)}),
        "training.plot_step_losses": lambda: training.plot_step_losses(
            {"NumPy": _history(seed=4)}, smooth=10, floor=0.04, floor_label="floor"),
        "training.plot_confusion_matrix": lambda: training.plot_confusion_matrix(matrix),
        "training.plot_misclassified": lambda: training.plot_misclassified(
            images, labels, (labels + np.arange(12) % 2) % 10),
        "training.plot_filters": lambda: training.plot_filters(rng.normal(size=(6, 1, 5, 5))),
    }


CATALOG = _catalog()


def _texts(fig):
    """(role, Text) for every visible, non-empty text of ``fig``, by what it labels."""
    out = []
    for ax in fig.axes:
        for role, text in (("title", ax.title), ("label", ax.xaxis.label),
                           ("label", ax.yaxis.label)):
            out.append((role, text))
        out += [("tick", t) for t in ax.get_xticklabels() + ax.get_yticklabels()]
        if ax.get_legend():
            out += [("legend", t) for t in ax.get_legend().get_texts()]
    for legend in fig.legends:
        out += [("legend", t) for t in legend.get_texts()]
    if fig._suptitle is not None:
        out.append(("title", fig._suptitle))
    return [(role, t) for role, t in out if t.get_visible() and t.get_text()]


def test_catalog_covers_every_public_figure_function():
    modules = (algorithms, cnn, concepts, formulas, optimizers, outlook, regularization, rnn,
               training)
    public = {f"{m.__name__.rsplit('.', 1)[1]}.{name}" for m in modules for name in m.__all__
              if name.startswith("plot_")}
    assert public == set(CATALOG), f"not drawn by the tests: {sorted(public - set(CATALOG))}"


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_figure_has_the_book_resolution_and_fits_the_column(name):
    fig = CATALOG[name]()
    assert fig.dpi == style.DPI, f"{name}: dpi {fig.dpi}, the book's is {style.DPI}"
    width = fig.get_figwidth()
    assert width <= style.WIDTH + 1e-9, f"{name}: {width:.2f} in wide, the column is {style.WIDTH}"
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0), f"{name}: the figure is not opaque white"


@pytest.mark.parametrize("name", list(CATALOG))
def test_every_text_has_the_font_size_of_its_role(name):
    fig = CATALOG[name]()
    sizes = {"title": style.FONT_SIZES["title"], "label": style.FONT_SIZES["label"],
             "tick": style.FONT_SIZES["tick"], "legend": style.FONT_SIZES["legend"]}
    for role, text in _texts(fig):
        assert text.get_fontsize() == sizes[role], (
            f"{name}: {role} {text.get_text()!r} is {text.get_fontsize()} pt, the book's "
            f"{role}s are {sizes[role]} pt")
    for text in (t for ax in fig.axes for t in ax.texts):  # annotations written in the axes
        assert text.get_fontsize() == style.FONT_SIZES["annotation"], (
            f"{name}: annotation {text.get_text()!r} is {text.get_fontsize()} pt")


@pytest.mark.parametrize("name", list(CATALOG))
def test_legends_lie_inside_the_saved_figure(name, tmp_path):
    fig = CATALOG[name]()
    fig.savefig(tmp_path / "figure.png")  # no bbox_inches="tight": what is outside is lost
    box = fig.bbox
    for legend in [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends:
        extent = legend.get_window_extent()
        inside = (extent.x0 >= box.x0 - 1 and extent.y0 >= box.y0 - 1
                  and extent.x1 <= box.x1 + 1 and extent.y1 <= box.y1 + 1)
        assert inside, f"{name}: legend {extent} leaves the figure {box}"


def test_figures_keep_the_book_style_when_drawn_outside_it(tmp_path):
    """Colours and tick sizes are fixed when the figure is made: drawn later, they stay.

    (New ticks, made when a chapter changes the limits, copy the properties of the first.)
    """
    fig = CATALOG["optimizers.plot_curves"]()
    fig.axes[0].set_ylim(1e-20, 1e5)  # as a chapter does after the call: new ticks are made
    with plt.rc_context({"axes.prop_cycle": plt.cycler(color=["black"]), "ytick.labelsize": 20}):
        fig.savefig(tmp_path / "figure.png")
        colors = [matplotlib.colors.to_hex(line.get_color()) for line in fig.axes[0].lines]
        sizes = {t.get_fontsize() for t in fig.axes[0].get_yticklabels()}
    assert colors == [c.lower() for c in style.COLORS[:3]], f"line colours {colors}"
    assert sizes == {style.FONT_SIZES["tick"]}, f"tick label sizes {sizes}"


def test_book_style_is_restored_after_a_figure():
    before = dict(matplotlib.rcParams)
    CATALOG["training.plot_class_counts"]()
    assert matplotlib.rcParams["figure.dpi"] == before["figure.dpi"]
    assert matplotlib.rcParams["font.size"] == before["font.size"]


def test_use_book_style_sets_the_session_outside_ipython():
    with plt.rc_context():  # restore everything afterwards
        style.use_book_style()  # no IPython shell: only matplotlib's settings change
        assert matplotlib.rcParams["figure.dpi"] == style.DPI
        assert matplotlib.rcParams["legend.fontsize"] == style.FONT_SIZES["legend"]
        fig, ax = plt.subplots()
        assert fig.dpi == style.DPI
        assert matplotlib.colors.to_hex(ax.plot([0, 1])[0].get_color()) == style.COLORS[0].lower()


def test_subplots_refuses_a_figure_wider_than_the_column():
    with pytest.raises(ValueError, match="width must be in"):
        style.subplots(width=style.WIDTH + 1)


def test_shared_legend_sits_below_every_panel():
    fig = CATALOG["optimizers.plot_path_panels"]()
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    renderer = fig.canvas.get_renderer()
    lowest = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes)  # x labels included
    assert legend.y1 <= lowest + 1, f"legend top {legend.y1:.0f} px above the panels' {lowest:.0f}"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["SGD", "momentum", "Adam", "start", "minimum"], labels


if __name__ == "__main__":  # draw every figure into a folder, to look at them
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    for figure_name, draw in CATALOG.items():
        draw().savefig(f"{folder}/{figure_name}.png", dpi=2 * style.DPI, bbox_inches="tight")
        plt.close("all")
