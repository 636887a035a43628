"""Data sets: simulated choice data and the bundled Heating data."""

from ._simulate import make_choice_data

__all__ = ["make_choice_data"]
