"""An in-process Pendo API simulator for integration tests and manual runs."""
from .simulator import PendoSimulator
from .variants import VARIANTS

__all__ = ["PendoSimulator", "VARIANTS"]
