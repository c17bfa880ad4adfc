"""tutor: a terminal tutor for PyTorch fluency."""

__version__ = "0.1.0"
