"""narrator: build checked SAR image-text datasets from boxes, masks and geo-metadata.

The library never imports Prefect; ``flows/`` wraps it and ``narrator.cli`` starts the flows.
"""

__version__ = "0.1.0"
