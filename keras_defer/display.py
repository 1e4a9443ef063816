"""Text helpers for Gluon's nested reprs (blocks, ``ParameterDict``)."""

__all__ = ["indent"]


def indent(text, spaces):
    """Indent every line of ``text`` but the first by ``spaces``, as Gluon's
    ``_indent`` does, so a child's repr nests under its parent's line."""
    lines = text.split("\n")
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])
