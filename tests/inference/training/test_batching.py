"""Guard against TRL's VLM padding pitfalls (trl#5785, #6401): a batch mixing image sizes and
prompt lengths must give every example the same completion logits as running it alone."""

from __future__ import annotations

import numpy as np
import torch

from inference.training.config import TrainConfig
from inference.training.dataset import Example, write_dataset
from inference.training.run import _load, _trainer


def test_sft_batch_with_mixed_sizes_matches_single_examples(tiny_model, tmp_path):
    rng = np.random.default_rng(0)
    examples = [
        Example(id="small", image=rng.integers(0, 256, (64, 64), dtype=np.uint8),
                prompt="Find it.", boxes_norm=((100, 100, 300, 300),), labels=("lesion",)),
        Example(id="wide", image=rng.integers(0, 256, (300, 484, 3), dtype=np.uint8),
                prompt="Detect and localize every abnormality in this wide image, please.",
                boxes_norm=((10, 20, 30, 40), (500, 500, 900, 990)), labels=("a", "b")),
        Example(id="val", image=rng.integers(0, 256, (32, 32), dtype=np.uint8), prompt="x"),
    ]
    ds = tmp_path / "ds"
    write_dataset(ds, examples[:2], validation=examples[2:])
    config = TrainConfig(model=str(tiny_model), dataset=str(ds), output_dir=str(tmp_path / "o"),
                         method="sft", batch_size=2, lora_rank=4, lora_alpha=8, device="cpu")
    model, processor = _load(config, None)
    trainer = _trainer(config, "sft", model, processor, tmp_path / "o", fresh_model=True)
    model = trainer.model.eval()
    rows = trainer.train_dataset
    batch = trainer.data_collator([rows[0], rows[1]])
    assert batch["input_ids"].shape[0] == 2
    assert batch["image_grid_thw"].tolist()[0] != batch["image_grid_thw"].tolist()[1]
    assert int(batch["attention_mask"].min()) == 0  # the batch really is padded

    def completion_logits(inputs, row):
        with torch.no_grad():
            logits = model(**{k: v for k, v in inputs.items() if k != "labels"}).logits[row]
        keep = inputs["labels"][row] != -100
        return logits[keep], inputs["labels"][row][keep]

    for k in range(2):
        alone = trainer.data_collator([rows[k]])
        single, single_labels = completion_logits(alone, 0)
        batched, batched_labels = completion_logits(batch, k)
        assert torch.equal(single_labels, batched_labels)
        assert len(single_labels) > 10  # the answer tokens, not the prompt
        torch.testing.assert_close(batched, single, rtol=1e-4, atol=1e-4)
