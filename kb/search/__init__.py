"""Search: hybrid keyword and semantic ranking, filters, the field's vocabulary, term statistics,
highlighting, and the evaluation of ranking quality.
"""
