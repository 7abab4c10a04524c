"""The version: a leaf, so that `datascan --version` and every module needing it import nothing else."""
__version__ = "0.1.0"
