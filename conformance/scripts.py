"""A failure's reproduction script, as the report prints it: it runs as printed.

The checks write the example's moves as the user's code (checks.common.Example.line).
`reproduction` makes that a script that runs to the move that failed: a header names the
clause, the implementation and how to run it; each statement that raised in the example
(marked '# raises') is wrapped in try/except that prints the error, so the script goes
on to the failing move instead of stopping at the first expected error.  It is printed
flush left between BEGIN and END (a script indented for looks does not run).
"""

import os
import re
import sys

from conformance import clauses as C

BEGIN = "# ---- 8< ---- reproduction script ----"
END = "# ---- >8 ---- end of script ----"
RAISES = "# raises"


def implementation_label(adapter):
    """The implementation a script is for, as a user installs and runs it: its module,
    version, and for keras_defer the Keras backend."""
    label = adapter.module or adapter.name
    module = sys.modules.get(adapter.module or "")
    version = getattr(module, "__version__", None)
    if version:
        label += " " + str(version)
    backend = keras_backend(adapter)
    if backend:
        label += ", Keras backend " + backend
    return label


def keras_backend(adapter):
    """The Keras backend a keras_defer-based adapter runs on, None for others."""
    if "keras" not in sys.modules or not (adapter.module or "").startswith("keras_defer"):
        return None
    try:
        return sys.modules["keras"].backend.backend()
    except Exception:  # noqa: BLE001 - a label is not worth failing a report for
        return None


def file_name(clause, device):
    return "%s_%s.py" % (clause, re.sub(r"\W", "", device))


def reproduction(adapter, clause, device, message, script):
    """The script the report prints for `clause` failing on `device`: a header, then the
    example's moves made runnable (`runnable`)."""
    statement = C.BY_ID[clause].statement if clause in C.BY_ID else ""
    run = "python %s" % file_name(clause, device)
    backend = keras_backend(adapter)
    if backend:
        run = "KERAS_BACKEND=%s %s" % (backend, run)
    header = ["# %s against %s on %s (conformance kit)" % (clause, implementation_label(adapter), device),
              "#   clause: %s" % statement,
              "#   failed: %s" % message.replace("\n", "\n#   "),
              "# run: %s" % run,
              ""]
    return "\n".join(header) + "\n" + runnable(script)


def write(directory, clause, device, script):
    """Write the script to directory/<clause>_<device>.py; its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, file_name(clause, device))
    with open(path, "w") as handle:
        handle.write(script + "\n")
    return path


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _code(line):
    """The line without a trailing '# raises ...' comment."""
    at = line.find(RAISES)
    return (line[:at] if at >= 0 else line).rstrip()


def _block_end(lines, start):
    """The index after the block `lines[start]` opens (lines indented deeper)."""
    depth = _indent(lines[start])
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > depth):
        end += 1
    return end


def runnable(script):
    """`script` with each statement marked '# raises' (or a block whose body is
    'pass  # raises': entering it raised) wrapped in try/except printing the error.
    A script that does not compile afterwards is returned as it came."""
    lines = script.split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        code = _code(line)
        opens = code.endswith(":") and not code.lstrip().startswith("#")
        body_raises = (opens and i + 1 < len(lines) and RAISES in lines[i + 1]
                       and _code(lines[i + 1]).strip() == "pass")
        if not ((RAISES in line and code.strip() and code.strip() != "pass") or body_raises):
            out.append(line)
            i += 1
            continue
        end = _block_end(lines, i) if opens else i + 1
        statement = lines[i:end]
        pad = " " * _indent(line)
        if opens and len(statement) == 1:    # `with autograd.record():  # raises`
            statement.append(pad + "    pass")
        out.append(pad + "try:")
        out.extend("    " + s if s.strip() else s for s in statement)
        out.append(pad + "except Exception as exc:  # it raised in the example too")
        out.append(pad + "    print('raised', type(exc).__name__, exc)")
        i = end
    text = "\n".join(out)
    try:
        compile(text, "<reproduction>", "exec")
    except SyntaxError:
        return script
    return text
