"""lrfind's benchmarks: run each script from the repository root as ``python -m benchmarks.NAME``
(``benchmarks/README.md`` lists the files and what each measures)."""
