#!/usr/bin/env python3
"""The MSRV check CI can run with the machine's one (newer) toolchain.

Every workspace crate must state the workspace's `rust-version`, and every package the
workspace's crates build with (normal and build dependencies, every feature, resolved through
Cargo.lock) must declare a `rust-version` no newer than it. The standard-library side is
clippy's `incompatible_msrv` lint, denied in the workspace's lints. Reads `cargo metadata` on
stdin; exits 1 naming every package that does not fit.
"""

import json
import sys


def version(text):
    """`1.85` or `1.85.0` as a comparable tuple; `None` stays `None`."""
    if not text:
        return None
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.load(sys.stdin)
    packages = {package["id"]: package for package in metadata["packages"]}
    nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
    members = metadata["workspace_members"]
    stated = {version(packages[member]["rust_version"]) for member in members}
    problems = []
    if len(stated) != 1 or None in stated:
        problems.append(
            "workspace crates state different or no rust-version: "
            + ", ".join(f"{packages[m]['name']} {packages[m]['rust_version']}" for m in members)
        )
        msrv = max((v for v in stated if v), default=None)
    else:
        (msrv,) = stated
    # Normal and build dependencies only: dev-dependencies (criterion, proptest, ...) build
    # only this workspace's own tests and benches, never a driver's build.
    seen, stack = set(), list(members)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for dependency in nodes[node]["deps"]:
            if any(kind["kind"] in (None, "build") for kind in dependency["dep_kinds"]):
                stack.append(dependency["pkg"])
    for package_id in sorted(seen):
        package = packages[package_id]
        declared = version(package["rust_version"])
        if msrv and declared and declared > msrv:
            problems.append(
                f"{package['name']} {package['version']} needs Rust {package['rust_version']}"
            )
    for problem in problems:
        print(f"ci: MSRV: {problem}", file=sys.stderr)
    if problems:
        return 1
    shown = ".".join(str(part) for part in msrv)
    undeclared = sum(1 for package_id in seen if not packages[package_id]["rust_version"])
    print(
        f"MSRV {shown}: {len(seen) - undeclared} of {len(seen)} packages (normal and build "
        f"dependencies, all features, all platforms) declare at most it; {undeclared} declare none"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
