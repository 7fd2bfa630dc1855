"""The theme taxonomy and the tagger: which failures a passage shows, with evidence, calibration and evaluation;
and topic discovery for what the taxonomy does not cover.
"""
