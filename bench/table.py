#!/usr/bin/env python3
"""Print bench/run.sh's final table.

    table.py ROWS.tsv [INFO.txt]

ROWS.tsv: one row a line, tab-separated: case, conntest, peer, ratio, target,
verdict; a line "#SECTION title" starts a group. INFO.txt: lines printed
under the table as they are.
"""
import sys
import unicodedata

HEADER = ["case", "conntest", "peer", "ratio", "target", "verdict"]


def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s, w):
    return s + " " * (w - width(s))


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    rows = []
    try:
        with open(argv[0], encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                if line.startswith("#SECTION "):
                    rows.append(line[len("#SECTION "):])
                    continue
                cells = (line.split("\t") + [""] * 6)[:6]
                rows.append(cells)
    except FileNotFoundError:
        pass
    cells_rows = [r for r in rows if isinstance(r, list)]
    widths = [max([width(h)] + [width(r[i]) for r in cells_rows]) for i, h in enumerate(HEADER)]
    widths[0] = max([widths[0]] + [width(r) + 4 for r in rows if isinstance(r, str)])

    def line(cells):
        return "| " + " | ".join(pad(c, w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    print(line(HEADER))
    print(rule)
    if not cells_rows:
        print("| (nothing measured)")
    for r in rows:
        if isinstance(r, str):
            print(line([f"**{r}**"] + [""] * 5))
        else:
            print(line(r))
    if len(argv) > 1:
        try:
            with open(argv[1], encoding="utf-8") as f:
                text = f.read().rstrip("\n")
            if text:
                print()
                print(text)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
