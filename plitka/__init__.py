"""Plitka Pro: photorealistic previews of rubber-crumb (EPDM) floor tiles in an exact colour mix."""

__version__ = "0.1.0"
