"""lcpipe: a declarative training pipeline for Leela Chess Zero networks."""

__version__ = "0.1.0"
