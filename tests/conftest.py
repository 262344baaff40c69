"""Project-wide test set-up: Qt offscreen, Hugging Face offline (tests never touch the network),
and a private workspace/cache so the suite never writes into a user's real workspace."""

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_scratch = tempfile.mkdtemp(prefix="medmo-tests-")
os.environ["MEDMO_WORKSPACE"] = os.path.join(_scratch, "workspace")
os.environ["MEDMO_CACHE"] = os.path.join(_scratch, "cache")
