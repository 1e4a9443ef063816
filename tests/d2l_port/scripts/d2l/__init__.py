"""The `d2l` package the chapters import (d2l-ko, April 2019, MXNet): its chapter-3 part.

The chapters put '..' on sys.path and `import d2l`; the test lays this package out beside
the chapter's working directory (tests/d2l_port/layout.py), swapped to keras_defer for the
port exactly as the chapters are. See utils.py for what is kept and where it comes from.
"""
from .utils import *  # noqa: F401,F403
