"""``python -m repro.astro.mergers predict MODEL IMAGES_DIR [--out CSV]`` (see :mod:`.cli`)."""
import sys

from .cli import main

sys.exit(main())
