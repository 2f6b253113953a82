"""Training the product's LoRA and Textual Inversion from labelled photos (docs/training.md).

inputs.py (the bounded inputs, the earlier product's values as defaults), archive.py (an untrusted
zip/tar unpacked safely), dataset.py (labels.csv, pictures, captions from the engine's prompt
builder, colour-keeping augmentation), trainer.py (the diffusers + peft loop), validation.py (two
mixes rendered and measured), bundle.py (the output tar), service.py (one training under the
governor's ModelManager). torch is imported only when a training starts.
"""

from plitka.training.archive import unpack_archive
from plitka.training.inputs import TRAINING_FIELDS, TrainingConfig, TrainingInputError, build_config
from plitka.training.service import TrainingService

__all__ = [
    "TRAINING_FIELDS",
    "TrainingConfig",
    "TrainingInputError",
    "TrainingService",
    "build_config",
    "unpack_archive",
]
