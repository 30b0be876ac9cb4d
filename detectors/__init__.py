"""Detector families. Each module holds small classes with a stable ``id``; the registry in
:mod:`detectors.registry` is the one place that lists them."""
