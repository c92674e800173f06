"""CBISON harness: the C sources (``c/``), their build and driver (``build``), shared cases."""
