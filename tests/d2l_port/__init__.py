"""Acceptance test of the d2l port: the chapters' cells print under keras_defer what they
print under MXNet 1.9.1 (see tests/d2l_port/README.md)."""
