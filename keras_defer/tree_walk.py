"""Visiting every block of a net without Python recursion.

Gluon's methods that visit a whole net (``repr``, ``collect_params``, ``apply``,
``hybridize``, ``cast``, ``copy.deepcopy``) recurse, at least one Python call per level
of nesting, so a net nested some hundreds deep exhausts Python's recursion limit. Here
each keeps its own stack instead: only memory bounds the depth. A method that a block's
class overrides is still called for that block, in the order the recursion would have
called it, so overrides (``HybridBlock.hybridize``, ``BatchNorm.cast``) keep working.

The forward pass cannot iterate (a block's ``forward`` calls its children); a forward
that runs out of recursion raises ``NestingDepthError`` (``nesting_error``), which names
the depth and the limit and says how to raise it.
"""

import sys
import threading

__all__ = ["NestingDepthError", "preorder", "postorder", "reach_children", "container_repr",
           "nesting_depth", "nesting_error"]


class NestingDepthError(RecursionError):
    """A forward pass through a net nested deeper than Python's recursion limit allows
    (a ``RecursionError``, with the depth, the limit and the fix in its message)."""


def preorder(root):
    """``root`` and its descendants, each block before its children, children in
    order; a child held by two parents comes once per parent, as Gluon's recursion."""
    stack = [root]
    while stack:
        block = stack.pop()
        yield block
        stack.extend(reversed(list(block._children.values())))


def postorder(root, expand=None):
    """``[block, ...]``: every block after its children (the order ``copy.deepcopy``
    copies in, so a parent finds its children's copies made). With ``expand``, only
    the children of blocks for which ``expand(block)`` is true are listed."""
    out, stack = [], [(root, False)]
    while stack:
        block, expanded = stack.pop()
        if expanded or (expand is not None and not expand(block)):
            out.append(block)
            continue
        stack.append((block, True))
        stack.extend((child, False) for child in reversed(list(block._children.values())))
    return out


_walks = threading.local()


def reach_children(block, method, *args, **kwargs):
    """``Block.<method>``'s visit of ``block``'s children, each child's own (maybe
    overridden) ``method`` called in the order Gluon's recursion calls them (depth
    first, children in order). Inside a walk of ``method`` the children are queued on
    it; otherwise a walk starts here and runs until every queued block is visited."""
    queue = getattr(_walks, method, None)
    children = list(block._children.values())
    if queue is not None:
        queue.extend(reversed(children))
        return
    queue = children[::-1]
    setattr(_walks, method, queue)
    try:
        while queue:
            getattr(queue.pop(), method)(*args, **kwargs)
    finally:
        setattr(_walks, method, None)


def container_repr(root, items_of):
    """Gluon's nested repr of ``root`` (``Name(\n  (key): child\n)``, each child's
    lines indented under its parent's), written line by line from a stack, so its cost
    is the length of the text. ``items_of(block)`` gives a block's ``[(key, child)]``,
    or None where the block's class prints itself (its own ``__repr__`` is called)."""
    lines, stack = [], [(root, 0, "")]
    while stack:
        block, pad, head = stack.pop()
        if isinstance(block, str):  # a container's closing line
            lines.append(block)
            continue
        items = items_of(block)
        if items is None:
            own = repr(block).split("\n")
            lines.append(head + own[0])
            lines.extend(" " * pad + line for line in own[1:])
            continue
        lines.append(head + type(block).__name__ + "(")
        if not items:
            lines.append(" " * pad)
        stack.append((" " * pad + ")", None, None))
        stack.extend((child, pad + 2, " " * pad + "  (%s): " % key)
                     for key, child in reversed(items))
    return "\n".join(lines)


def nesting_depth(root):
    """The number of blocks on the longest path from ``root`` down (1: no children)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        block, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in block._children.values())
    return deepest


def nesting_error(block, error):
    """The ``NestingDepthError`` for ``error`` (a ``RecursionError`` that a forward pass
    through ``block`` ran into): the depth, Python's limit, and a limit that would do."""
    depth, limit = nesting_depth(block), sys.getrecursionlimit()
    return NestingDepthError(
        "%s '%s' nests blocks %d deep, and its forward pass ran out of Python's recursion "
        "limit (sys.getrecursionlimit() = %d; each level of nesting costs about 10 Python "
        "calls through Keras): %s. Raise the limit before the call, e.g. "
        "sys.setrecursionlimit(%d), or nest less (a flat Sequential of the same layers "
        "computes the same)."
        % (type(block).__name__, block.name, depth, limit, error,
           max(2 * limit, 20 * depth + 1000)))
