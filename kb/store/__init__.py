"""The store: the SQLite catalogue (the source of truth, one module per kind of record), the vector index,
the accounts and the secret key. The only package that opens SQLite or imports chromadb.
"""
