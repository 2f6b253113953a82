"""The colour lock: puts a picture of crumb exactly on the ordered mix, keeping how it looks."""

from plitka.lock.confidence import LOCK_MIN_CONFIDENCE, Confidence
from plitka.lock.lock import LockResult, lock_colours

__all__ = ["LOCK_MIN_CONFIDENCE", "Confidence", "LockResult", "lock_colours"]
