#!/usr/bin/env python3
"""Fails when the files of a crate import each other in a circle.

For every crate under shared/ and functions/, each .rs file under src/ is a node; an edge
a -> b is a path `crate::x::y` (or `super::x`) in a that names module file b. Prints every
circle (strongly connected set of two or more files, or a file naming itself is ignored)
and exits 1 if there is one.
"""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
PATH = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")


def module_of(src: Path, f: Path) -> list[str]:
    rel = f.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return parts


def file_of(src: Path, parts: list[str]):
    """The file of the deepest module `parts` names (an item's path ends in its module)."""
    for n in range(len(parts), -1, -1):
        base = src.joinpath(*parts[:n]) if n else src
        for cand in ([base.with_suffix(".rs"), base / "mod.rs"] if n else
                     [src / "lib.rs", src / "main.rs"]):
            if cand.is_file():
                return cand
    return None


def circles(src: Path) -> list[list[Path]]:
    files = sorted(src.rglob("*.rs"))
    edges = {f: set() for f in files}
    for f in files:
        here = module_of(src, f)
        text = re.sub(r"//[^\n]*", "", f.read_text())
        for kind, rest in PATH.findall(text):
            parts = rest.strip(":").split("::")
            if kind == "super":
                parent = here[:-1] if f.stem not in ("mod", "lib", "main") else here[:-1]
                parts = parent + parts
            target = file_of(src, parts)
            if target and target != f:
                edges[f].add(target)
    # Tarjan's strongly connected components.
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in files:
        if v not in index:
            visit(v)
    return out


found = 0
for src in sorted(root.glob("shared/*/src")) + sorted(root.glob("functions/*/src")):
    for c in circles(src):
        found += 1
        print("circle:", ", ".join(str(p.relative_to(root)) for p in c))
if found:
    sys.exit(1)
print("no circle of files in any crate")
