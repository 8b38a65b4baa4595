"""companion.data.poems (the fortunes-zh corpus of chapter 9) and companion.plots.transformers.

The loader is tested on a small file written in fortunes-zh's format (colour codes, ``%``
separators), so the tests need no Debian package; one test reads the installed package when it
is there and skips, saying so, when it is not.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from companion.data import DataNotFoundError  # noqa: E402
from companion.data.poems import (  # noqa: E402
    FORTUNES_DIR,
    CharVocab,
    load_tang300,
    random_windows,
)
from companion.plots import transformers as figs  # noqa: E402

SAMPLE = (
    "\x1b[32m《静夜思》\x1b[m\n\x1b[33m作者：李白\x1b[m\n床前明月光，疑是地上霜。\n"
    "举头望明月，低头思故乡。\n%\n"
    "\x1b[32m《春晓》\x1b[m\n\x1b[33m作者：孟浩然\x1b[m\n春眠不觉晓，处处闻啼鸟。\n"
    "夜来风雨声，花落知多少。\n"
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_load_tang300_parses_titles_authors_and_verses(tmp_path):
    (tmp_path / "tang300").write_text(SAMPLE, encoding="utf-8")
    poems = load_tang300(tmp_path)
    assert [p.title for p in poems] == ["静夜思", "春晓"]
    assert [p.author for p in poems] == ["李白", "孟浩然"]
    assert poems[0].text == "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。"
    assert "\x1b" not in "".join(p.text for p in poems)


def test_load_tang300_names_the_package_when_missing(tmp_path):
    with pytest.raises(DataNotFoundError, match="apt-get install fortunes-zh"):
        load_tang300(tmp_path)


def test_installed_package_has_313_poems():
    if not (FORTUNES_DIR / "tang300").is_file():
        pytest.skip("Debian's fortunes-zh is not installed (apt-get install fortunes-zh)")
    poems = load_tang300()
    assert len(poems) == 313 and all(p.text for p in poems)


def test_char_vocab_round_trip_and_unknown_characters():
    vocab = CharVocab("春眠不觉晓\n")
    assert len(vocab) == 6 and vocab.chars == sorted("春眠不觉晓\n")
    ids = vocab.encode("晓春\n")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "晓春\n"
    with pytest.raises(ValueError, match="not in the vocabulary: '夜'"):
        vocab.encode("春夜")


def test_random_windows_targets_are_the_next_tokens():
    tokens = np.arange(100)
    x, y = random_windows(tokens, 8, 10, np.random.default_rng(0))
    assert x.shape == y.shape == (8, 10)
    assert np.array_equal(y, x + 1), "y[:, t] must be the token after x[:, t]"
    with pytest.raises(ValueError, match="more than length=10 tokens, got 10"):
        random_windows(np.arange(10), 2, 10, np.random.default_rng(0))


def test_score_scaling_draws_each_variant_on_both_panels():
    widths = [2, 4, 8]
    spread = {"raw": np.array([1.4, 2.0, 2.8]), "scaled": np.ones(3)}
    peak = {"raw": np.array([0.2, 0.4, 0.6]), "scaled": np.full(3, 0.1)}
    left, right = figs.plot_score_scaling(widths, spread, peak).get_axes()
    np.testing.assert_array_equal(left.lines[0].get_ydata(), spread["raw"])
    np.testing.assert_array_equal(right.lines[1].get_ydata(), peak["scaled"])
    assert left.get_xscale() == "log" and left.get_yscale() == "log"


def test_attention_maps_one_panel_per_map_and_bad_titles():
    maps = [np.tril(np.ones((4, 4))) / np.arange(1, 5)[:, None]] * 3
    fig = figs.plot_attention_maps(maps, ["a", "b", "c"])
    panels = [ax for ax in fig.get_axes() if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["a", "b", "c"]
    np.testing.assert_array_equal(panels[1].images[0].get_array(), maps[1])
    with pytest.raises(ValueError, match="3 maps and 2 titles"):
        figs.plot_attention_maps(maps, ["a", "b"])


def test_loss_curves_first_solid_others_dashed():
    fig = figs.plot_loss_curves({"NumPy": np.arange(5.0), "torch": np.arange(3.0)})
    solid, dashed = fig.get_axes()[0].lines
    assert solid.get_linestyle() == "-" and dashed.get_linestyle() == "--"
    np.testing.assert_array_equal(dashed.get_xdata(), [1, 2, 3])
