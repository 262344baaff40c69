"""``medmo bench`` targets: each module adds its target (``register(targets)``) and measures
against a reference taken in the same run. Heavy libraries are imported only when a target runs.
"""
