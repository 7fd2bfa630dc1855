"""Cut words into the keyword index's own tokens (stemming included), so query words and indexed words agree."""

from __future__ import annotations

import sqlite3
import threading

from kb.store.schema import FTS_TOKENIZER


class FtsTokenizer:
    def __init__(self):
        self._lock = threading.Lock()
        # An empty in-memory index with the same tokenizer: the only exact way to stem as FTS5 does.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE forms USING fts5(text, tokenize='{FTS_TOKENIZER}')")
        self._db.execute("CREATE VIRTUAL TABLE form_tokens USING fts5vocab(forms, 'instance')")

    def tokens(self, forms: list[str]) -> list[list[str]]:
        """Each form as the index's tokens."""
        with self._lock:
            self._db.executemany("INSERT INTO forms(rowid, text) VALUES (?, ?)", list(enumerate(forms)))
            rows = self._db.execute("SELECT doc, term FROM form_tokens").fetchall()
            self._db.execute("DELETE FROM forms")
        found: list[list[str]] = [[] for _ in forms]
        for doc, term in rows:
            found[doc].append(term)
        return found
