"""Run every ```bash block of README.md and docs/*.md as written, one bash session per file.

    .venv/bin/python tools/check_docs.py                 # README.md and docs/*.md
    .venv/bin/python tools/check_docs.py docs/api.md     # some

Blocks run in order from the repository root with .venv/bin first on PATH and HF_HUB_OFFLINE=1, so
a later block may use what an earlier one started or wrote. A block that cannot run on this machine
(the Go cog CLI, Docker, a Replicate token, a GPU) has `<!-- not run here: REASON -->` on the line
above its fence and is listed, not run. Markdown has no runner for its code blocks, hence this script.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```bash\s*$")
NOT_RUN = re.compile(r"^<!-- not run here: (.+) -->$")


@dataclass
class Block:
    path: Path
    line: int
    code: str
    skip_reason: str = ""


def bash_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        if FENCE.match(lines[index]):
            end = lines.index("```", index + 1)
            reason = NOT_RUN.match(lines[index - 1]) if index else None
            code = "\n".join(lines[index + 1 : end])
            blocks.append(Block(path, index + 1, code, reason.group(1) if reason else ""))
            index = end
        index += 1
    return blocks


def session_script(blocks: list[Block]) -> str:
    """One script for a file's blocks: stop at the first failing block, end background jobs."""
    parts = ["set -eo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for block in blocks:
        parts.append(f"echo '>>> {block.path.name}:{block.line}' >&2")
        parts.append(block.code)
    return "\n".join(parts) + "\n"


def run_file(path: Path, timeout: float) -> tuple[bool, float, str]:
    blocks = [block for block in bash_blocks(path) if not block.skip_reason]
    if not blocks:
        return True, 0.0, ""
    path_with_venv = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PATH=path_with_venv)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["bash", "-c", session_script(blocks)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        return False, timeout, f"timed out after {timeout:.0f} s\n{expired.stderr or ''}"
    output = (done.stdout + done.stderr)[-4000:]
    return done.returncode == 0, time.perf_counter() - start, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="default: README.md and docs/*.md")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per file")
    args = parser.parse_args()
    files = args.files or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    failed = 0
    for path in files:
        path = path.resolve()
        blocks = bash_blocks(path)
        ok, seconds, output = run_file(path, args.timeout)
        ran = sum(1 for block in blocks if not block.skip_reason)
        print(f"{'ok  ' if ok else 'FAIL'} {path.relative_to(ROOT)}: {ran} blocks run in {seconds:.1f} s")
        for block in blocks:
            if block.skip_reason:
                print(f"     not run: line {block.line}: {block.skip_reason}")
        if not ok:
            failed += 1
            print(output)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
