"""Progress of the d2l port: per chapter, how many cells print what MXNet 1.9.1 printed.

    .venv/bin/python -m tests.d2l_port                  # one line per chapter
    .venv/bin/python -m tests.d2l_port -v               # and why each failing cell fails
    .venv/bin/python -m tests.d2l_port ndarray -c 12    # the full report of one cell
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from . import chapters, replay  # noqa: E402


def main():
    parser = argparse.ArgumentParser(prog="python -m tests.d2l_port", description=__doc__)
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER",
                        help="default: all of " + ", ".join(chapters.CHAPTERS))
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every failing cell with a one-line reason")
    parser.add_argument("-c", "--cell", type=int, action="append",
                        help="print the full report of this cell (repeatable)")
    args = parser.parse_args()
    unknown = [name for name in args.chapters if name not in chapters.CHAPTERS]
    if unknown:
        parser.error("unknown chapter(s) %s" % ", ".join(unknown))
    args.chapters = args.chapters or list(chapters.CHAPTERS)
    total = matching = printing = printing_matching = 0
    replay.run_isolated(args.chapters)  # the laid-out chapters: one process for all
    for name in args.chapters:
        results = replay.check_chapter(name)
        total += len(results)
        matching += sum(r.match for r in results)
        printing += sum(bool(r.expected) for r in results)
        printing_matching += sum(r.match for r in results if r.expected)
        seconds = replay.isolated_seconds(name)
        print(replay.summary_line(name, results)
              + (" [%.1f s, %.1f s CPU]" % seconds if seconds is not None else ""),
              flush=True)
        for r in results:
            if args.cell and r.n in args.cell:
                print(replay.cell_report(r))
            elif args.verbose and not r.match:
                print("    cell %2d: %s" % (r.n, replay.first_line(r)))
    print("%-26s %2d/%2d cells match (of the cells that print, %d/%d)"
          % ("all", matching, total, printing_matching, printing))
    return 0 if matching == total else 1


if __name__ == "__main__":
    sys.exit(main())
