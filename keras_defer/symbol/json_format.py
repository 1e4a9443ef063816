"""MXNet's symbol JSON text, byte for byte: the dmlc-core ``JSONWriter`` rules.

MXNet writes graphs with nnvm's ``SaveJSON`` through dmlc's writer, whose layout is not
Python's ``json.dumps``: an array goes on one line when it holds at most 10 plain values
(node ids, ``[node, index, version]`` entries), otherwise one item per line; an object
goes on one line when it holds at most one key (a node's ``attrs`` with one entry),
otherwise one key per line; items are separated by ``", "`` even before a line break,
and nesting indents by two spaces. Writing the same bytes lets a test prove, without
MXNet, that MXNet reads what we write (the recorded files are MXNet's own text).

``write_graph`` takes the plain graph (``Symbol._graph()``); ``read_graph`` parses and
checks text from any MXNet version this format has (``attrs``, or the older ``attr`` /
``param`` keys).
"""

import json

from keras_defer.errors import MXNetError

MXNET_VERSION = 10901
"""The version MXNet 1.9.1 stamps in a graph's ``attrs``."""


class _Writer:
    """dmlc::JSONWriter: a stack of scopes, each one-line or multi-line."""

    def __init__(self):
        self.parts = []
        self.multi = []
        self.count = []

    def _separator(self):
        if not self.multi or self.multi[-1]:
            self.parts.append("\n" + " " * (2 * len(self.multi)))

    def begin(self, bracket, multi_line):
        self.parts.append(bracket)
        self.multi.append(multi_line)
        self.count.append(0)

    def end(self, bracket):
        multi, count = self.multi.pop(), self.count.pop()
        if multi and count:
            self._separator()
        self.parts.append(bracket)

    def key(self, name):
        if self.count[-1]:
            self.parts.append(", ")
        self._separator()
        self.parts.append('"%s": ' % name)
        self.count[-1] += 1

    def item(self):
        if self.count[-1]:
            self.parts.append(", ")
        self.count[-1] += 1
        self._separator()

    def string(self, text):
        self.parts.append('"' + text.replace("\\", "\\\\").replace("\r", "\\r")
                          .replace("\n", "\\n").replace("\t", "\\t").replace('"', '\\"') + '"')

    def plain_array(self, values):
        """An array of numbers or of entries (dmlc's POD arrays)."""
        self.begin("[", len(values) > 10)
        for value in values:
            self.item()
            if isinstance(value, (list, tuple)):
                self.plain_array(value)
            else:
                self.parts.append(str(int(value)))
        self.end("]")

    def string_map(self, mapping):
        self.begin("{", len(mapping) > 1)
        for name in sorted(mapping):
            self.key(name)
            self.string(mapping[name])
        self.end("}")


def write_graph(graph):
    """The JSON text for ``graph``: ``{"nodes": [{"op", "name", "attrs", "inputs"}],
    "arg_nodes", "node_row_ptr", "heads"}`` as ``Symbol._graph`` makes it."""
    w = _Writer()
    w.begin("{", True)
    w.key("nodes")
    w.begin("[", True)
    for node in graph["nodes"]:
        w.item()
        w.begin("{", True)
        w.key("op")
        w.string(node["op"])
        w.key("name")
        w.string(node["name"])
        if node.get("attrs"):
            w.key("attrs")
            w.string_map(node["attrs"])
        w.key("inputs")
        w.plain_array(node["inputs"])
        w.end("}")
    w.end("]")
    for name in ("arg_nodes", "node_row_ptr", "heads"):
        w.key(name)
        w.plain_array(graph[name])
    w.key("attrs")
    w.begin("{", False)
    w.key("mxnet_version")
    w.begin("[", False)
    w.item()
    w.string("int")
    w.item()
    w.parts.append(str(MXNET_VERSION))
    w.end("]")
    w.end("}")
    w.end("}")
    return "".join(w.parts)


def _fail(why):
    raise MXNetError("Cannot read the symbol JSON: %s. Pass the text of a "
                     "'<prefix>-symbol.json' file written by MXNet's Symbol.save or "
                     "HybridBlock.export." % why)


def _entry(value, count, where):
    if (not isinstance(value, list) or len(value) not in (2, 3)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        _fail("%s must be [node_id, index, version], got %r" % (where, value))
    if not 0 <= value[0] < count:
        _fail("%s refers to node %d, but the graph has %d nodes" % (where, value[0], count))
    return (value[0], value[1], value[2] if len(value) == 3 else 0)


MAX_DEPTH = 8
"""A symbol graph nests 5 levels (graph, nodes, node, inputs, entry); allow some slack."""


def read_graph(text):
    """Parse and check symbol JSON; returns ``(nodes, heads)``: each node a dict with
    ``op``, ``name``, ``attrs`` (str -> str), ``inputs`` (``(id, index, version)``),
    ``num_outputs`` (from ``node_row_ptr`` when present, else None); heads as entries.
    Refuses (MXNetError) anything that is not such a graph, naming what is wrong."""
    from keras_defer.serialization import json_depth

    if isinstance(text, str) and json_depth(text) > MAX_DEPTH:
        # measured without recursion: json.loads would raise RecursionError
        _fail("it nests deeper than a symbol graph does (at most %d levels of [ and {)"
              % MAX_DEPTH)
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError) as err:
        _fail("it is not JSON (%s)" % err)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        _fail("the top level must be an object with a 'nodes' list")
    raw_nodes = data["nodes"]
    count = len(raw_nodes)
    row_ptr = data.get("node_row_ptr")
    if not (isinstance(row_ptr, list) and len(row_ptr) == count + 1
            and all(isinstance(v, int) for v in row_ptr)):
        row_ptr = None
    nodes = []
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str) \
                or not isinstance(raw.get("name"), str):
            _fail("node %d must be an object with string 'op' and 'name'" % i)
        attrs = {}
        for key in ("param", "attr", "attrs"):  # older MXNet versions used the first two
            extra = raw.get(key) or {}
            if not isinstance(extra, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
                _fail("node %d ('%s'): '%s' must map strings to strings"
                      % (i, raw["name"], key))
            attrs.update(extra)
        inputs = raw.get("inputs", [])
        if not isinstance(inputs, list):
            _fail("node %d ('%s'): 'inputs' must be a list" % (i, raw["name"]))
        inputs = [_entry(e, count, "input of node %d ('%s')" % (i, raw["name"]))
                  for e in inputs]
        if any(e[0] >= i for e in inputs):
            _fail("node %d ('%s') takes an input from a later node; nodes must be in "
                  "topological order" % (i, raw["name"]))
        nodes.append({"op": raw["op"], "name": raw["name"], "attrs": attrs,
                      "inputs": inputs,
                      "num_outputs": row_ptr[i + 1] - row_ptr[i] if row_ptr else None})
    heads = data.get("heads")
    if not isinstance(heads, list) or not heads:
        _fail("'heads' must be a non-empty list of [node_id, index, version]")
    return nodes, [_entry(h, count, "head") for h in heads]
