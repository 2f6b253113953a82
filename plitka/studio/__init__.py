"""The studio: one web page for choosing a mix by eye, in front of the product's own API.

`plitka studio` serves the page (static/) and proxies it to a local Cog server (coglet, `plitka
serve`) or to Replicate, whose token stays in this process. docs/studio.md says how to run it.
"""

from plitka.studio.server import StudioServer, run_studio

__all__ = ["StudioServer", "run_studio"]
