"""The classifier two-sample test: how well gradient boosting tells photo patches from render patches.

Folds never share a group (a mix): patches of one mix look alike, photo or render, so a classifier
that had seen a mix in training could recognise the mix instead of the kind of picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plitka.realism.features import GROUPS, NAMES

FOLDS = 5
TOP_FEATURES = 10
MAX_ITERATIONS = 150  # boosting rounds; the test's verdict moves little beyond ~100


@dataclass(frozen=True)
class TwoSampleResult:
    accuracy: float  # mean over folds of the held-out patch accuracy
    accuracy_spread: float  # standard deviation across folds
    auc: float  # of the out-of-fold probabilities, all patches together
    folds: int

    def to_dict(self) -> dict:
        return {
            "accuracy": round(self.accuracy, 3),
            "accuracy_spread": round(self.accuracy_spread, 3),
            "auc": round(self.auc, 3),
            "folds": self.folds,
        }


def classifier_test(
    features: np.ndarray, labels: np.ndarray, groups: np.ndarray, seed: int = 0, folds: int = FOLDS
) -> TwoSampleResult:
    """Held-out accuracy of gradient boosting on features -> labels (0/1), grouped folds."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # eval-only dependencies
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    folds = min(folds, len(np.unique(groups)))
    probability = np.zeros(len(labels))
    accuracies = []
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels, groups):
        model = HistGradientBoostingClassifier(max_iter=MAX_ITERATIONS, learning_rate=0.1, random_state=seed)
        model.fit(features[train], labels[train])
        probability[test] = model.predict_proba(features[test])[:, 1]
        accuracies.append(float(((probability[test] > 0.5) == labels[test]).mean()))
    return TwoSampleResult(
        accuracy=float(np.mean(accuracies)),
        accuracy_spread=float(np.std(accuracies)),
        auc=float(roc_auc_score(labels, probability)),
        folds=folds,
    )


def group_accuracies(features: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """The test's accuracy on each feature group alone."""
    columns = {name: index for index, name in enumerate(NAMES)}
    return {
        group: classifier_test(features[:, [columns[name] for name in names]], labels, groups).accuracy
        for group, names in GROUPS.items()
    }


def feature_aucs(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC of each feature alone as a score for "render" (0.5: no help; 0 or 1: separates fully)."""
    from sklearn.metrics import roc_auc_score

    return np.array([roc_auc_score(labels, column) for column in features.T])


def top_features(features: np.ndarray, labels: np.ndarray, count: int = TOP_FEATURES) -> list[dict]:
    """The features that separate most on their own, with the medians of both kinds."""
    aucs = feature_aucs(features, labels)
    order = np.argsort(-np.abs(aucs - 0.5))[:count]
    return [
        {
            "feature": NAMES[index],
            "auc": round(float(aucs[index]), 3),
            "photo_median": round(float(np.median(features[labels == 0, index])), 4),
            "render_median": round(float(np.median(features[labels == 1, index])), 4),
        }
        for index in order
    ]


def shuffled_control(
    features: np.ndarray, images: np.ndarray, groups: np.ndarray, seed: int = 0
) -> TwoSampleResult:
    """The same test on renders only, each image given a random label, balanced within its mix: there
    is nothing to find, so it must read about 0.5. Pass only render patches (their image ids)."""
    rng = np.random.default_rng(seed)
    image_label = {}
    for group in np.unique(groups):
        members = rng.permutation(np.unique(images[groups == group]))
        image_label |= {image: index % 2 for index, image in enumerate(members)}
    labels = np.array([image_label[image] for image in images])
    return classifier_test(features, labels, groups, seed)
