"""nnxp's benchmarks: each module is a script run from the repository root as
``python -m benchmarks.NAME [options]``; benchmarks.harness is what they share.
See benchmarks/README.md."""
