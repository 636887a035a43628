"""Data sets: simulated choice data and the bundled Heating data."""

from ._heating import load_heating
from ._simulate import make_choice_data

__all__ = ["load_heating", "make_choice_data"]
