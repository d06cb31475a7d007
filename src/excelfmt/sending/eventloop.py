"""Which event loop a run or a worker runs on."""

from __future__ import annotations

import importlib.util


def loop_options() -> dict[str, bool]:
    """anyio's asyncio options: uvloop where it is installed, which costs about a tenth
    less CPU per request (docs/performance.md); asyncio's own loop elsewhere."""
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}
