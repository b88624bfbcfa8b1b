"""Package version (single source for hatchling and ``lexigram.monitor.__version__``)."""

__version__ = "0.1.0"
