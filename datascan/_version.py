"""The version, a leaf: `datascan --version` and every module needing it import nothing else."""
__version__ = "0.1.0"
