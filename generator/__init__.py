"""dlrgen: typed delivery-status clients generated from declarative provider specs."""

__version__ = "0.1.0"
