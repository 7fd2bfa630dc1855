"""The catalogue's tables, indexes and FTS5 keyword index, and the version of that layout.

New stores are made from SCHEMA; stores of an older version are brought to it by
the steps in kb/store/migrations.py, which also says how to change either.
"""

SCHEMA_VERSION = 4
# The keyword index's tokenizer; kb.search.term_statistics tokenises queries with the same one.
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    size INTEGER NOT NULL,
    page_count INTEGER NOT NULL,
    title TEXT, review_type TEXT, case_name TEXT, area TEXT, nation TEXT,
    year_published INTEGER, year_of_incident INTEGER,
    catalogue_id TEXT, url TEXT, publisher TEXT, author TEXT, meta_source TEXT,
    pdf_metadata TEXT NOT NULL DEFAULT '{}',
    vectors_done INTEGER NOT NULL DEFAULT 0,
    ingested_at TEXT NOT NULL,
    redacted_pages TEXT NOT NULL DEFAULT '[]',
    provenance TEXT  -- JSON: where `scrkb fetch` got the file (kb.models.Provenance); NULL if not fetched
);
CREATE TABLE IF NOT EXISTS paths (
    path TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    method TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS passages (
    rowid INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    section TEXT,
    section_kind TEXT,
    ocr INTEGER NOT NULL DEFAULT 0,
    text TEXT NOT NULL,
    embedding BLOB
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, seq);
-- Filters reach passages by id (themes, entities) and need only their document and section.
CREATE INDEX IF NOT EXISTS passages_filter ON passages(passage_id, doc_id, section_kind);
CREATE TABLE IF NOT EXISTS entities (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    text TEXT NOT NULL,
    canonical TEXT,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entities_passage ON entities(passage_id);
CREATE INDEX IF NOT EXISTS entities_label ON entities(label, canonical);
CREATE TABLE IF NOT EXISTS sentences (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    lemmas TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (passage_id, idx)
);
CREATE TABLE IF NOT EXISTS passage_themes (
    passage_id TEXT NOT NULL REFERENCES passages(passage_id) ON DELETE CASCADE,
    theme_id TEXT NOT NULL,
    score REAL NOT NULL,
    kind TEXT NOT NULL,
    evidence TEXT NOT NULL,
    taxonomy_version TEXT NOT NULL,
    tag_model TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (passage_id, theme_id)
);
CREATE INDEX IF NOT EXISTS passage_themes_theme ON passage_themes(theme_id, kind, score);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, content='passages', content_rowid='rowid',
    tokenize='{FTS_TOKENIZER}'
);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
CREATE TRIGGER IF NOT EXISTS passages_ai AFTER INSERT ON passages BEGIN
    INSERT INTO passages_fts(rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS passages_ad AFTER DELETE ON passages BEGIN
    INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
-- learning packs (kb/packs.py): a pack item names a passage by id, with no foreign key,
-- because re-ingesting a changed report replaces its passages and must neither fail
-- nor silently empty a trainer's pack.
CREATE TABLE IF NOT EXISTS packs (
    pack_id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    introduction TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pack_items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    pack_id INTEGER NOT NULL REFERENCES packs(pack_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    passage_id TEXT NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (pack_id, passage_id)
);
CREATE INDEX IF NOT EXISTS pack_items_order ON pack_items(pack_id, position);
""".replace("{FTS_TOKENIZER}", FTS_TOKENIZER)
REVIEWS_SCHEMA = """
-- reviewers' verdicts on theme tags (kb/store/reviews.py): no foreign key to passages, so a
-- review outlives re-ingest and retagging (passage ids are stable) and one whose passage has
-- gone is reported rather than dropped. Every verdict is kept; the latest per pair holds.
CREATE TABLE IF NOT EXISTS tag_reviews (
    review_id INTEGER PRIMARY KEY AUTOINCREMENT,
    passage_id TEXT NOT NULL,
    theme_id TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject', 'add')),
    note TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tag_reviews_pair ON tag_reviews(passage_id, theme_id, review_id);
CREATE INDEX IF NOT EXISTS tag_reviews_theme ON tag_reviews(theme_id, passage_id);
"""
SCHEMA += REVIEWS_SCHEMA
META_FIELDS = {
    "title": "title", "review_type": "review_type", "case": "case_name", "area": "area",
    "nation": "nation", "year_published": "year_published", "year_of_incident": "year_of_incident",
    "catalogue_id": "catalogue_id", "url": "url", "publisher": "publisher", "author": "author",
    "source": "meta_source",
}
