"""The resource governor: which models are loaded (ModelManager) and how memory is kept in bounds."""

from plitka.governor.models import Ledger, ModelInUseError, ModelManager, ModelSpec

__all__ = ["Ledger", "ModelInUseError", "ModelManager", "ModelSpec"]
