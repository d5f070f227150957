"""Types of the command-line values: each refuses a bad value as a usage error (exit 2, one line naming the flag),
before anything is read or contacted."""

from __future__ import annotations

import argparse
import math
import re

# An MWAA environment name, as the MWAA API model has it (botocore mwaa service-2, shape EnvironmentName):
# 1-80 characters, a letter then letters, digits, '-' or '_'.
_MWAA_NAME = re.compile(r"[a-zA-Z][0-9a-zA-Z_-]{0,79}", re.ASCII)
MAX_TIMEOUT = 3600.0  # an hour per request: longer is a typo, not a slow server


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {value})")
    return value


def seconds(text: str) -> float:
    """A request timeout: finite, above 0 and at most an hour (requests refuses 0 and below; NaN and inf break it)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g} (got {text!r})")
    return value


def mwaa_name(text: str) -> str:
    if not _MWAA_NAME.fullmatch(text):
        # ascii(): a name carrying terminal escapes is shown escaped, never raw.
        raise argparse.ArgumentTypeError(f"{ascii(text)} is not an MWAA environment name (1-80 characters: a letter, "
                                         f"then letters, digits, '-' or '_')")
    return text
