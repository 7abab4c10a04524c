"""Names the CLI offers as choices, in a leaf: `datascan --help` lists them without loading
the modules that act on them (run_options.py, the formats, the renderers)."""
# ray would fit run_joblib; not installed here. "inprocess": no worker, for debugging only.
BACKENDS = ("local", "inprocess", "threading", "loky", "dask")
