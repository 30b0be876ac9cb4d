"""Side-by-side benchmark of the monitor against bare-client floors (``python -m bench``)."""
