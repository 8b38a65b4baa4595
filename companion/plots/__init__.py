"""The book's figures, one module per topic, all drawn in one style (``companion.plots.style``).

A notebook calls ``use_book_style()`` once after its imports: its own figures then match the
package's, and IPython sends them at twice the resolution (sharp on high-DPI screens). What the
figures compute (test functions, moving averages, frequency responses, grids) lives in
``companion.numerics``.
"""

from companion.plots.style import use_book_style

__all__ = ["use_book_style"]
