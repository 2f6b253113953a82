"""Realism: can a classifier tell our renders from the reference photos? (`plitka eval-realism`)

A classifier two-sample test. Patches of the reference photos and of renders of the same mixes, at
matched granule scale and JPEG settings, are described by hand-crafted features (features.py) and
told apart by gradient boosting with folds that never share a mix (twosample.py). An accuracy near
0.5 means the renders cannot be told from the photos by these features; 1.0 means they always can.

scikit-learn and scikit-image are eval-only (requirements-dev.txt), imported inside the functions
that need them: the Cog image never installs them.
"""

from plitka.realism.reference import RealismReport, evaluate_realism

__all__ = ["RealismReport", "evaluate_realism"]
