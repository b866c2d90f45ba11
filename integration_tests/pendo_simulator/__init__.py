"""An in-process Pendo API simulator for integration tests and manual runs."""
from .simulator import PendoSimulator

__all__ = ["PendoSimulator"]
