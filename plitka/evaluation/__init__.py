"""Evaluations that need both uses of the colour model: the colour lock (plitka.lock) judged by the
measurement (plitka.analysis). The only room that imports both."""
