"""What a unit of work can run into besides bugs."""

from __future__ import annotations


class DuplicateUpdate(Exception):
    """The inbound update was applied before (its external id is claimed)."""


class Conflict(Exception):
    """Someone else wrote the same conversation since it was read: decide again."""
