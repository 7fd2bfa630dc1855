"""Where reports come from: the catalogue of real public reports and `scrkb fetch`, which downloads them.
"""
