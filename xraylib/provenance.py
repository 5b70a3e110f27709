"""Where and from what a record came: the commit and the CPU (light: no Keras).

Why: trained weights follow the CPU's vector extensions (oneDNN picks its kernels by them), so every
record names the machine and the commit that wrote it.
"""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from .config import project_root


def commit() -> str:
    """The checkout's short commit hash, or 'unknown' outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(),
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


_AMD_CORES = {0x17: "Zen 1/2", 0x19: "Zen 3/4", 0x1A: "Zen 5"}


def cpu_info() -> dict:
    """CPU model, family and the vector extensions: which kernels oneDNN picks (and so which
    trained weights come out) follows them, and bf16 needs AVX-512 BF16 or AMX to beat float32."""
    model, flags, family, number, vendor = platform.processor() or platform.machine(), set(), None, None, ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name":
                model = value
            elif key == "flags":
                flags = set(value.split())
            elif key == "cpu family" and family is None:
                family = int(value)
            elif key == "model" and number is None:
                number = int(value)
            elif key == "vendor_id":
                vendor = value
    except (OSError, ValueError):
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    out = {"processor": model, "vector_extensions": [f for f in wanted if f in flags]}
    if family is not None:
        core = _AMD_CORES.get(family, "") if vendor == "AuthenticAMD" else ""
        out["family_model"] = f"{family}/{number}" + (f" ({core})" if core else "")
    return out
