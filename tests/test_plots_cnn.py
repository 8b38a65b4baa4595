"""companion.plots.cnn: what each figure draws, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots import cnn


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- plot_map_grid ---------------------------------------------------------------------------
def test_map_grid_draws_every_map_at_one_pixel_scale_centred_in_its_cell(rng):
    big, small = rng.normal(size=(26, 26)), rng.normal(size=(13, 13))
    fig = cnn.plot_map_grid([[big, small], [small]], row_labels=["a", "b"],
                            col_labels=["x", "y"], title="maps")
    axes = fig.get_axes()
    assert len(axes) == 4, f"a 2x2 grid has 4 axes, got {len(axes)}"
    for i in (0, 1, 2):
        assert axes[i].get_xlim() == (-0.5, 25.5), f"axes {i} x limits {axes[i].get_xlim()}"
        assert axes[i].get_ylim() == (25.5, -0.5), f"axes {i} y limits {axes[i].get_ylim()}"
    np.testing.assert_array_equal(axes[0].images[0].get_array(), big, err_msg="map (0, 0)")
    np.testing.assert_array_equal(axes[1].images[0].get_array(), small, err_msg="map (0, 1)")
    # the 13x13 map sits in the middle of the 26x26 frame: 6.5 pixels of margin on each side
    assert axes[1].images[0].get_extent() == [6.0, 19.0, 19.0, 6.0], "extent of the small map"
    assert axes[0].images[0].get_extent() == [-0.5, 25.5, 25.5, -0.5], "extent of the big map"
    assert not axes[3].axison, "the missing cell (row 1 is shorter) must be hidden"
    assert axes[1].get_xlabel() == "13x13", f"size label {axes[1].get_xlabel()!r}"
    assert [axes[0].get_title(), axes[1].get_title()] == ["x", "y"], "column titles"
    assert [axes[0].get_ylabel(), axes[2].get_ylabel()] == ["a", "b"], "row labels"
    assert [t.get_text() for t in fig.texts] == ["maps"], "figure title"


def test_map_grid_signed_rows_use_a_symmetric_scale_per_map():
    kernel = np.array([[-1.0, 0.0], [2.0, 0.5]], np.float32)
    image = np.array([[0.2, 0.4], [0.6, 0.8]], np.float32)
    fig = cnn.plot_map_grid([[kernel], [image]], signed=[True, False])
    signed_image, plain_image = (ax.images[0] for ax in fig.get_axes())
    assert signed_image.get_clim() == (-2.0, 2.0), f"signed clim {signed_image.get_clim()}"
    assert signed_image.get_cmap().name == "RdBu_r", "signed maps use a diverging colour map"
    np.testing.assert_allclose(plain_image.get_clim(), (0.2, 0.8), rtol=1e-6,
                               err_msg="unsigned map clim (its min to its max)")
    assert plain_image.get_cmap().name == "gray", "unsigned maps are grey"


def test_map_grid_all_zero_signed_map_still_gets_a_valid_scale():
    fig = cnn.plot_map_grid([[np.zeros((3, 3))]], signed=True)
    assert fig.get_axes()[0].images[0].get_clim() == (-1.0, 1.0), "zero map colour limits"


# --- plot_filter_comparison -------------------------------------------------------------------
def test_filter_comparison_shares_each_filters_scale_across_stages(rng):
    initial = rng.normal(size=(3, 1, 5, 5))
    trained = 4.0 * rng.normal(size=(3, 1, 5, 5))
    trained[2] = 0.0
    initial[2] = 0.0  # an all-zero filter must still get a usable scale
    fig = cnn.plot_filter_comparison({"initial": initial, "trained": trained}, title="conv1")
    axes = np.array(fig.get_axes()).reshape(2, 3)
    expected = np.maximum(np.abs(initial).max(axis=(1, 2, 3)), np.abs(trained).max(axis=(1, 2, 3)))
    expected[2] = 1.0
    for r, weights in enumerate((initial, trained)):
        for k in range(3):
            image = axes[r, k].images[0]
            np.testing.assert_array_equal(image.get_array(), weights[k, 0],
                                          err_msg=f"filter {k} of stage {r}")
            np.testing.assert_allclose(image.get_clim(), (-expected[k], expected[k]),
                                       rtol=1e-12, err_msg=f"clim of filter {k}, stage {r}")
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["initial", "trained"], "stage labels"
    assert [ax.get_title() for ax in axes[0]] == ["filter 0", "filter 1", "filter 2"], "titles"


# --- plot_receptive_fields --------------------------------------------------------------------
def test_receptive_fields_draws_one_rectangle_per_box():
    boxes = {"conv1": (10, 11, 5, 5), "conv2": (8, 9, 9, 10)}
    fig = cnn.plot_receptive_fields(np.zeros((28, 28)), boxes)
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 2, f"expected 2 rectangles, got {len(ax.patches)}"
    for patch, (label, (top, left, height, width)) in zip(ax.patches, boxes.items()):
        assert patch.get_xy() == (left - 0.5, top - 0.5), f"{label} corner {patch.get_xy()}"
        assert (patch.get_height(), patch.get_width()) == (height, width), f"{label} size"
        assert patch.get_label() == f"{label}: {height}x{width}", f"{label} legend entry"
    assert ax.get_xlim() == (-0.5, 27.5) and ax.get_ylim() == (27.5, -0.5), "image frame"


# --- bad input -------------------------------------------------------------------------------
Z = np.zeros((3, 3))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: cnn.plot_map_grid([]), TypeError, "non-empty list of rows"),
        (lambda: cnn.plot_map_grid(Z), TypeError, "non-empty list of rows"),
        (lambda: cnn.plot_map_grid([Z]), TypeError, "rows[0] must be a non-empty list"),
        (lambda: cnn.plot_map_grid([[None]]), ValueError, "only empty cells"),
        (lambda: cnn.plot_map_grid([[np.zeros(3)]]), ValueError, "rows[0][0] must have 2"),
        (lambda: cnn.plot_map_grid([[Z.astype(np.uint8)]]), TypeError, "rows[0][0] must be float"),
        (lambda: cnn.plot_map_grid([[Z], [Z]], row_labels=["a"]),
         ValueError, "row_labels must have 2 entries"),
        (lambda: cnn.plot_map_grid([[Z, Z]], col_labels=["a"]),
         ValueError, "col_labels must have 2 entries"),
        (lambda: cnn.plot_map_grid([[Z], [Z]], signed=[True]),
         ValueError, "signed must be a bool or have 2 entries"),
        (lambda: cnn.plot_filter_comparison({}), TypeError, "non-empty mapping"),
        (lambda: cnn.plot_filter_comparison({"a": np.zeros((2, 3, 3, 3))}),
         ValueError, "(O, 1, kH, kW)"),
        (lambda: cnn.plot_filter_comparison({"a": np.zeros((2, 1, 3, 3)),
                                             "b": np.zeros((3, 1, 3, 3))}),
         ValueError, "of one shape"),
        (lambda: cnn.plot_filter_comparison({"a": np.zeros((2, 3, 3))}),
         ValueError, "stages['a'] must have 4"),
        (lambda: cnn.plot_receptive_fields(np.zeros((4, 4)), {}), TypeError, "non-empty mapping"),
        (lambda: cnn.plot_receptive_fields(np.zeros((4, 4)), {"a": (0, 0, 0, 2)}),
         ValueError, "boxes['a'] must be 4 ints"),
        (lambda: cnn.plot_receptive_fields(np.zeros((4, 4)), {"a": (0, 0, 1.5, 2)}),
         ValueError, "boxes['a'] must be 4 ints"),
        (lambda: cnn.plot_receptive_fields(np.zeros((4, 4, 1)), {"a": (0, 0, 1, 1)}),
         ValueError, "image must have 2 dimensions"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
