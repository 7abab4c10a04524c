"""Names the CLI offers as choices, in a leaf: `datascan --help` lists them without loading
the modules that act on them (run_options.py, the formats, the renderers)."""
# The report formats (report/__init__.py renders each) and the text report's default limit.
REPORT_FORMATS = ("text", "json", "html")
MAX_FINDINGS = 20        # text: findings listed per code unless --max-findings / --all
# ray would fit run_joblib; not installed here. "inprocess": no worker, for debugging only.
BACKENDS = ("local", "inprocess", "threading", "loky", "dask")
