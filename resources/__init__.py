"""Bundled, site-editable resources: prompt templates, training configs, the demo model."""
