"""The spec language: loading, interpolation, validation, errors."""

from lcpipe.spec.errors import Mark, SpecError, SpecErrors
from lcpipe.spec.loader import SpecDocument, load_spec

__all__ = ["Mark", "SpecDocument", "SpecError", "SpecErrors", "load_spec"]
