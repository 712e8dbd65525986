"""Sampling profiles of the running service processes during a benchmark: py-spy attached
to each pid (no change to the service, no pause: ``--nonblocking``), written as collapsed
stacks, then summarised as the frames where the CPU time goes (self and inclusive)."""

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Profiler:
    name: str
    proc: subprocess.Popen
    path: Path


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: make install (the bench extra pins it)")
    return found


def start_profiling(pids: dict[str, int], out_dir: Path, rate: int = 50) -> list[Profiler]:
    out_dir.mkdir(parents=True, exist_ok=True)
    profilers = []
    for name, pid in pids.items():
        path = out_dir / f"profile-{name}.txt"
        log = (out_dir / f"profile-{name}.log").open("wb")
        proc = subprocess.Popen([_py_spy(), "record", "--pid", str(pid), "--rate", str(rate), "--nonblocking",
                                 "--format", "raw", "--output", str(path)], stdout=log, stderr=subprocess.STDOUT)
        profilers.append(Profiler(name, proc, path))
    return profilers


def stop_profiling(profilers: list[Profiler]) -> None:
    """py-spy writes its file on SIGINT."""
    for p in profilers:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGINT)
    for p in profilers:
        try:
            p.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.proc.kill()
            p.proc.wait()


def _frame_name(frame: str) -> str:
    """``handle (services/eventing/consumer.py:97)`` -> ``handle (services/eventing/consumer.py)``:
    a function is counted once whatever line it was on."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].removesuffix(')')})" if where else name


def _short(frame: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in frame:
            head, _, tail = frame.partition(" (")
            return f"{head} ({tail.split(marker, 1)[1]}" if marker in tail else frame
    return frame


def summarise(path: Path, top: int = 25) -> str:
    """The top frames by self time (on the CPU in that function) and by inclusive time
    (the function or anything it called), as a share of the samples."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    if not path.exists():
        return f"{path.name}: no samples"
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(_frame_name(f)) for f in stack.split(";")]
        if frames:
            self_time[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    lines = [f"{path.stem}: {total} samples"]
    for title, counter in (("self", self_time), ("inclusive", inclusive)):
        lines.append(f"  top {top} by {title} time:")
        lines += [f"    {100 * n / max(total, 1):5.1f}%  {f}" for f, n in counter.most_common(top)]
    return "\n".join(lines)
