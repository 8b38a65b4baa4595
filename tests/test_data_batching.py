"""Mini-batches: every sample once per epoch, seeded order, last-batch policy, bad arguments."""

import numpy as np
import pytest

from companion.data import BatchLoader, iterate_minibatches, num_batches


def data(n=10):
    y = np.arange(n)
    return y[:, None] * np.ones((1, 3)) * 10, y  # x[i] = [10 i, 10 i, 10 i]


def sizes(batches):
    return [len(yb) for _, yb in batches]


def test_shuffled_epoch_visits_every_sample_once_with_pairs_kept():
    x, y = data(103)
    batches = list(iterate_minibatches(x, y, 10, rng=0))
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(103))
    assert not np.array_equal(seen, y)  # really shuffled
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb * 10)


@pytest.mark.parametrize("drop_last, expected", [(False, [3, 3, 3, 1]), (True, [3, 3, 3])])
def test_last_partial_batch_policy(drop_last, expected):
    x, y = data(10)
    for shuffle in (False, True):
        batches = list(iterate_minibatches(x, y, 3, shuffle=shuffle, rng=1,
                                           drop_last=drop_last))
        assert sizes(batches) == expected
    assert num_batches(10, 3, drop_last) == len(expected)
    assert len(BatchLoader(x, y, 3, rng=1, drop_last=drop_last)) == len(expected)


def test_batch_larger_than_the_data():
    x, y = data(5)
    assert sizes(iterate_minibatches(x, y, 8, rng=0)) == [5]
    assert sizes(iterate_minibatches(x, y, 8, rng=0, drop_last=True)) == []


def test_same_seed_same_order_different_seed_different_order():
    x, y = data(50)

    def order(rng):
        return np.concatenate([yb for _, yb in iterate_minibatches(x, y, 7, rng=rng)])

    np.testing.assert_array_equal(order(42), order(42))
    np.testing.assert_array_equal(order(np.random.default_rng(42)),
                                  order(np.random.default_rng(42)))
    assert not np.array_equal(order(42), order(43))


def test_loader_gives_new_orders_per_epoch_repeatable_from_its_seed():
    x, y = data(40)

    def epochs(loader):
        return [np.concatenate([yb for _, yb in loader]) for _ in range(3)]

    a = epochs(BatchLoader(x, y, 6, rng=5))
    b = epochs(BatchLoader(x, y, 6, rng=5))
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1])


def test_without_shuffle_order_is_kept_and_batches_are_views():
    x, y = data(10)
    batches = list(iterate_minibatches(x, y, 4, shuffle=False))
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    assert all(np.shares_memory(xb, x) for xb, _ in batches)


def test_global_numpy_state_is_untouched():
    x, y = data(30)
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    list(iterate_minibatches(x, y, 4, rng=3))
    assert np.random.random() == expected


def test_works_with_torch_tensors():
    torch = pytest.importorskip("torch")
    x, y = data(10)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    batches = list(iterate_minibatches(tx, ty, 4, rng=0))
    assert all(isinstance(xb, torch.Tensor) for xb, _ in batches)
    assert sorted(torch.cat([yb for _, yb in batches]).tolist()) == list(range(10))
    np.testing.assert_array_equal(batches[0][1].numpy(),
                                  next(iterate_minibatches(x, y, 4, rng=0))[1])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
    ({"batch_size": True}, TypeError, "batch_size must be an int"),
    ({"rng": None}, ValueError, "shuffle=True needs rng="),
    ({"rng": 1.5}, TypeError, "rng must be a numpy.random.Generator"),
    ({"y": np.arange(9)}, ValueError, "same length .* got 10 and 9"),
])
def test_bad_arguments(kwargs, error, match):
    x, y = data(10)
    arguments = {"x": x, "y": y, "batch_size": 3, "rng": 0, **kwargs}
    with pytest.raises(error, match=match):
        iterate_minibatches(**arguments)  # checked at the call, before any batch
    with pytest.raises(error, match=match):
        BatchLoader(**arguments)
