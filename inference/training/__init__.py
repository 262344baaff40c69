"""Site adaptation: training data, rewards, the SFT/GRPO run and its progress stream.

Nothing here imports Qt, the viewer or the app. Heavy libraries (torch, transformers, trl, peft,
datasets) are imported inside the functions that use them.
"""
