"""Research and teaching outputs over the knowledge base: counts, co-occurrence and trends,
chronologies, exports (CSV, JSON, Excel, REFI-QDA), and learning packs with their Word, PDF and Markdown export.
"""
