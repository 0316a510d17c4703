#!/usr/bin/env python3
"""Checks the shape of src/: the layers import one way only, and no file or function grows too long.

Layers, lowest first (modules on one line share a layer and must not import each other):
a module may import only modules on lower lines. Within a module, no two files may import each other.
Test code (from the first `#[cfg(test)]` of a file on) is not counted. Exits 1 naming every violation.
"""
import os
import re
import sys

LAYERS = [
    ["base"],
    ["journal"],
    ["metrics"],
    ["config"],
    ["plugin"],
    ["graph"],
    ["events"],
    ["throughs"],
    ["runtime"],
    ["connect"],
    ["view"],
    ["sources", "sinks", "sweep"],
    ["api"],
    ["cli"],
]
MAX_FILE_LINES = 600
MAX_FN_LINES = 120

RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
USE = re.compile(r"\bcrate::(\{[^}]*\}|\w+)")
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def code_of(path):
    text = open(path, encoding="utf-8").read()
    cut = text.find("#[cfg(test)]")
    text = text if cut < 0 else text[:cut]
    # Comments (and so doc links) are not imports.
    return "\n".join(re.sub(r"^(\s*)//.*", r"\1", line) for line in text.split("\n"))


def crate_refs(code):
    """Top-level modules named by `crate::` paths (also inside `use crate::{a::x, b}`)."""
    out = set()
    for m in USE.finditer(code):
        g = m.group(1)
        if g.startswith("{"):
            out.update(re.findall(r"(?:^|[{,])\s*(\w+)", g))
        else:
            out.add(g)
    return out


def long_functions(path, code):
    """Functions whose body spans more than MAX_FN_LINES lines (by brace matching from the signature)."""
    lines = code.split("\n")
    found = []
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m or lines[i].lstrip().startswith("//"):
            i += 1
            continue
        depth, start, j, opened = 0, i, i, False
        while j < len(lines):
            s = re.sub(r'"(\\.|[^"\\])*"|//.*', "", lines[j])
            if not opened and ";" in s and "{" not in s:
                break  # a declaration without a body
            depth += s.count("{") - s.count("}")
            opened = opened or "{" in s
            if opened and depth <= 0:
                break
            j += 1
        if j - start + 1 > MAX_FN_LINES:
            found.append(f"{path}:{start + 1}: fn {m.group(5)} is {j - start + 1} lines (at most {MAX_FN_LINES})")
        i += 1
    return found


ITEM = re.compile(r"^pub(\([^)]*\))?\s+(struct|enum|fn|trait|type|const|static|mod)\s+(\w+)", re.M)
SUPER = re.compile(r"\bsuper::(\{[^}]*\}|\w+)")


def sibling_cycles(files, root):
    """Pairs of sibling files (not mod.rs) that import each other: by `super::file::…`, or by a name
    that one of them defines and `mod.rs` re-exports (`super::Name`)."""
    by_dir = {}
    for p in files:
        d, n = os.path.split(p)
        if n != "mod.rs":
            by_dir.setdefault(d, {})[n[:-3]] = p
    problems = []
    for d, sibs in sorted(by_dir.items()):
        defines = {stem: set(m.group(3) for m in ITEM.finditer(files[p])) for stem, p in sibs.items()}
        deps = {}
        for stem, p in sibs.items():
            names = set()
            for m in SUPER.finditer(files[p]):
                g = m.group(1)
                names.update(re.findall(r"(?:^|[{,])\s*(\w+)", g) if g.startswith("{") else [g])
            out = set()
            for n in names:
                if n in sibs:
                    if n != stem:
                        out.add(n)
                    continue
                out.update(o for o, items in defines.items() if o != stem and n in items)
            deps[stem] = out
        for a in sorted(deps):
            for b in sorted(deps[a]):
                if a < b and a in deps.get(b, ()):
                    rel = os.path.relpath(d, root)
                    problems.append(f"src/{rel}/{a}.rs and src/{rel}/{b}.rs import each other")
    return problems


def main(root):
    problems = []
    files = {}
    for d, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(".rs"):
                p = os.path.join(d, n)
                files[p] = code_of(p)
    for p, code in sorted(files.items()):
        rel = os.path.relpath(p, root).split(os.sep)
        top = rel[0][:-3] if rel[0].endswith(".rs") else rel[0]
        n = code.count("\n")
        if n > MAX_FILE_LINES:
            problems.append(f"{p}: {n} lines of code (at most {MAX_FILE_LINES}, tests aside)")
        problems += long_functions(p, code)
        if top in ("lib", "main"):
            continue
        if top not in RANK:
            problems.append(f"{p}: module '{top}' has no layer in tools/check_layers.py")
            continue
        for dep in sorted(crate_refs(code) - {top}):
            if dep not in RANK:
                continue
            if RANK[dep] >= RANK[top]:
                how = "shares a layer with" if RANK[dep] == RANK[top] else "sits below"
                problems.append(f"{p}: '{top}' imports '{dep}', but '{top}' {how} '{dep}'")
    problems += sibling_cycles(files, root)
    for pr in problems:
        print(pr)
    if problems:
        print(f"{len(problems)} layering problems")
        return 1
    print(f"layers ok: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "src"))
