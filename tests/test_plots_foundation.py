"""companion.plots.foundation: the figures draw what they are given, and refuse bad shapes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots.foundation import (
    plot_label_efficiency,
    plot_reconstructions,
    plot_shared_defect,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_label_efficiency_draws_one_line_per_method():
    acc = {"scratch": np.array([[0.4, 0.8, 0.9], [0.5, 0.82, 0.92]]),
           "probe": np.array([[0.5, 0.8, 0.85], [0.52, 0.81, 0.86]])}
    fig = plot_label_efficiency([10, 100, 1000], acc, {"scratch": 34622, "probe": 1210})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["scratch (34,622 trained)", "probe (1,210 trained)"]
    means = [line.get_ydata() for line in ax.lines if len(line.get_ydata()) == 3]
    np.testing.assert_allclose(means[0], [0.45, 0.81, 0.91])


def test_label_efficiency_refuses_a_wrong_shape():
    with pytest.raises(ValueError, match=r"accuracy\['probe'\] must have shape \(\*, 3\)"):
        plot_label_efficiency([10, 100, 1000], {"probe": np.zeros((2, 2))}, {"probe": 1})


def test_shared_defect_one_panel_per_task():
    clean, poisoned = np.full((3, 2), 0.1), np.full((3, 2), 0.8)
    fig = plot_shared_defect(["digit", "parity", "large"], ["probe", "LoRA"], clean, poisoned,
                             ylabel="rate")
    assert [ax.get_title() for ax in fig.axes] == ["digit", "parity", "large"]
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    assert heights == [0.1, 0.1, 0.8, 0.8]
    with pytest.raises(ValueError, match=r"poisoned must have shape \(3, 2\)"):
        plot_shared_defect(["a", "b", "c"], ["x", "y"], clean, poisoned[:2], ylabel="rate")


def test_reconstructions_one_row_per_entry():
    rng = np.random.default_rng(0)
    fig = plot_reconstructions({"original": rng.random((4, 1, 28, 28)),
                                "masked": rng.random((4, 28, 28))})
    assert len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == "original" and fig.axes[4].get_ylabel() == "masked"
    with pytest.raises(ValueError, match=r"rows\['b'\] must have shape \(4, \*, \*\)"):
        plot_reconstructions({"a": rng.random((4, 28, 28)), "b": rng.random((3, 28, 28))})
