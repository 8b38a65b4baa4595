"""companion: the code behind the neural-network fundamentals book.

* ``companion.numpy_impl``: the NumPy reference implementation the book teaches;
* ``companion.torch_impl``: the same models in PyTorch (CUDA when present, CPU otherwise);
* ``companion.models``: each architecture defined once, built by either implementation;
* ``companion.parity``: runs both from the same weights and reports the worst difference;
* ``companion.data``: MNIST and Fashion-MNIST, found locally or downloaded and verified.

``import companion`` does not import torch; ``companion.torch_impl`` does.
"""

__version__ = "0.1.0"
