"""The book's figures, one module per topic."""
