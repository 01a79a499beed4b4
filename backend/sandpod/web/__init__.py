"""The built web page (frontend/, Svelte + Vite), served by the API at `/`.

`make web-build` (which `make run` and `make setup` call when the build is missing or stale)
writes it into `static/`; the wheel and the backend image carry it from there.
"""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
