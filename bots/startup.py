"""What every entry point does first: read the settings (one clear line when one is
wrong, never a traceback) and set up logging."""

from __future__ import annotations

import logging
import sys

from config.settings import Settings, SettingsError, load_settings


def settings_and_logging() -> Settings | None:
    """The settings, with logging to stderr at LOG_LEVEL; None after reporting an error."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return settings
