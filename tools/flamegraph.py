#!/usr/bin/env python3
"""A flame graph (SVG) and a text summary from `perf script` output with call graphs.

Usage: flamegraph.py PERF_SCRIPT_TXT OUT_SVG [--title TITLE] [--top N]

Reads the samples `perf script` prints for a `perf record --call-graph ...` run (a header
line, then one indented line per frame, leaf first, then a blank line), draws each stack
from the root at the bottom to the leaf at the top, widths proportional to samples, and
prints to stdout the N functions with the most samples of their own (self) and under them
(inclusive). Frames narrower than 1/2000 of the whole are left out of the drawing (not of
the summary). Used by tools/profile-peers.sh; see docs/benchmarks.md.
"""
import argparse
import collections
import html
import re
import zlib

WIDTH_PX = 1200
FRAME_PX = 16
MIN_SHARE = 1 / 2000
# Names perf found in the kernel's image (their frames say so: "([kernel.kallsyms])"); the
# name alone cannot tell: malloc, free, main and uv_run are lowercase too.
KERNEL_NAMES = set()


def frame_name(line):
    """'  7f12 shoal::Foo::bar+0x1c (/path/shoald)' -> 'shoal::Foo::bar'."""
    parts = line.strip().split(" ", 1)
    if len(parts) < 2:
        return None
    sym, _, dso = parts[1].rpartition(" (")
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    if sym in ("[unknown]", ""):
        lib = dso.rstrip(")").rsplit("/", 1)[-1] or "[unknown]"
        sym = lib if lib.startswith("[") else "[" + lib + "]"
    if "kernel.kallsyms" in dso:
        KERNEL_NAMES.add(sym[:300])
    return sym[:300]


def read_stacks(path):
    stacks = collections.Counter()
    frames = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if frames:
                    stacks[tuple(reversed(frames))] += 1
                frames = []
            elif line[0] in " \t":
                name = frame_name(line)
                if name:
                    frames.append(name)
    if frames:
        stacks[tuple(reversed(frames))] += 1
    return stacks


def summary(stacks, top):
    total = sum(stacks.values())
    own, under = collections.Counter(), collections.Counter()
    for stack, n in stacks.items():
        own[stack[-1]] += n
        for name in set(stack):
            under[name] += n
    lines = [f"samples {total}", "== self"]
    lines += [f"{100 * n / total:5.1f} {name}" for name, n in own.most_common(top)]
    lines.append("== inclusive")
    lines += [f"{100 * n / total:5.1f} {name}" for name, n in under.most_common(top)]
    return "\n".join(lines)


def tree_of(stacks):
    root = {"name": "all", "n": 0, "kids": {}}
    for stack, n in stacks.items():
        root["n"] += n
        node = root
        for name in stack:
            node = node["kids"].setdefault(name, {"name": name, "n": 0, "kids": {}})
            node["n"] += n
    return root


def color(name):
    """Kernel orange, LevelDB and snappy blue, libc and the allocator grey, Shoal green,
    the rest yellow; the shade from the name, so one function keeps its colour."""
    h = zlib.crc32(name.encode()) % 40
    if name in KERNEL_NAMES or name.startswith("[kernel"):
        return f"rgb({215 + h // 2},{110 + h},40)"
    if "leveldb" in name or "snappy" in name:
        return f"rgb(80,{130 + h},{200 + h // 2})"
    if name.startswith(("__", "malloc", "free", "operator new", "operator delete", "je_", "[libc")):
        return f"rgb({160 + h},{160 + h},{160 + h})"
    if name.startswith("shoal::") or "shoal" in name:
        return f"rgb(80,{170 + h},80)"
    return f"rgb(225,{190 + h},60)"


def depth_of(node):
    return 1 + max((depth_of(k) for k in node["kids"].values()), default=0)


def draw(node, x, level, px_per_sample, height, total, out):
    w = node["n"] * px_per_sample
    if node["n"] < total * MIN_SHARE:
        return
    y = height - (level + 1) * FRAME_PX
    label = html.escape(node["name"])
    pct = 100 * node["n"] / total
    chars = int(w / 7)
    text = label if len(node["name"]) <= chars else html.escape(node["name"][: max(chars - 2, 0)]) + ".."
    out.append(
        f'<g><title>{label} ({node["n"]} samples, {pct:.1f}%)</title>'
        f'<rect x="{x:.1f}" y="{y}" width="{max(w - 0.5, 0.1):.1f}" height="{FRAME_PX - 1}" '
        f'fill="{color(node["name"])}"/>'
        + (f'<text x="{x + 3:.1f}" y="{y + FRAME_PX - 4}">{text}</text>' if chars >= 3 else "")
        + "</g>"
    )
    for kid in sorted(node["kids"].values(), key=lambda k: k["name"]):
        draw(kid, x, level + 1, px_per_sample, height, total, out)
        x += kid["n"] * px_per_sample


def svg(stacks, title):
    root = tree_of(stacks)
    total = max(root["n"], 1)
    height = (depth_of(root) + 2) * FRAME_PX
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_PX}" height="{height}" '
        'font-family="monospace" font-size="11">',
        f'<rect width="100%" height="100%" fill="white"/>',
        f'<text x="4" y="12">{html.escape(title)} ({total} samples; hover a frame for its share)</text>',
    ]
    draw(root, 0.0, 0, WIDTH_PX / total, height, total, out)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("perf_script")
    ap.add_argument("out_svg")
    ap.add_argument("--title", default="flame graph")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    stacks = read_stacks(args.perf_script)
    if not stacks:
        raise SystemExit(f"{args.perf_script}: no samples with call graphs")
    with open(args.out_svg, "w") as f:
        f.write(svg(stacks, args.title))
    print(summary(stacks, args.top))


if __name__ == "__main__":
    main()
