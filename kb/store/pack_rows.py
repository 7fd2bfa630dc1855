"""Learning packs' rows (kb.research.packs): a pack and its ordered items.

Positions are 0-based and kept contiguous: every change renumbers the pack's
items in one transaction, so two forms submitted at once cannot leave a gap."""

from __future__ import annotations

import sqlite3

from kb.store.rows import now


class PackRows:
    db: sqlite3.Connection

    def create_pack(self, title: str, introduction: str) -> int:
        stamp = now()
        cursor = self.db.execute(
            "INSERT INTO packs (title, introduction, created, updated) VALUES (?, ?, ?, ?)",
            (title, introduction, stamp, stamp),
        )
        return int(cursor.lastrowid)

    def update_pack(self, pack_id: int, title: str | None = None, introduction: str | None = None) -> bool:
        """Change a pack's title and/or introduction; False when there is no such pack."""
        cursor = self.db.execute(
            "UPDATE packs SET title = COALESCE(?, title), introduction = COALESCE(?, introduction), updated = ? "
            "WHERE pack_id = ?",
            (title, introduction, now(), pack_id),
        )
        return cursor.rowcount > 0

    def delete_pack(self, pack_id: int) -> bool:
        return self.db.execute("DELETE FROM packs WHERE pack_id = ?", (pack_id,)).rowcount > 0

    def pack_row(self, pack_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT k.*, (SELECT COUNT(*) FROM pack_items i WHERE i.pack_id = k.pack_id) AS item_count "
            "FROM packs k WHERE k.pack_id = ?", (pack_id,)
        ).fetchone()
        return dict(row) if row else None

    def pack_rows(self) -> list[dict]:
        """Every pack with its number of items, the most recently changed first."""
        rows = self.db.execute(
            "SELECT k.*, (SELECT COUNT(*) FROM pack_items i WHERE i.pack_id = k.pack_id) AS item_count "
            "FROM packs k ORDER BY k.updated DESC, k.pack_id DESC"
        )
        return [dict(r) for r in rows]

    def pack_item_rows(self, pack_id: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT * FROM pack_items WHERE pack_id = ? ORDER BY position, item_id", (pack_id,)
        )
        return [dict(r) for r in rows]

    def packs_holding(self, passage_id: str) -> list[int]:
        rows = self.db.execute("SELECT pack_id FROM pack_items WHERE passage_id = ? ORDER BY pack_id", (passage_id,))
        return [r[0] for r in rows]

    def add_pack_item(self, pack_id: int, passage_id: str, heading: str, note: str) -> int | None:
        """Append a passage to a pack and return its item id; a passage already there keeps its item."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM packs WHERE pack_id = ?", (pack_id,)).fetchone() is None:
                return None
            row = db.execute(
                "SELECT item_id FROM pack_items WHERE pack_id = ? AND passage_id = ?", (pack_id, passage_id)
            ).fetchone()
            if row:
                return int(row[0])
            cursor = db.execute(
                "INSERT INTO pack_items (pack_id, position, passage_id, heading, note) VALUES "
                "(?, (SELECT COUNT(*) FROM pack_items WHERE pack_id = ?), ?, ?, ?)",
                (pack_id, pack_id, passage_id, heading, note),
            )
            self._touch_pack(db, pack_id)
            return int(cursor.lastrowid)

    def update_pack_item(self, pack_id: int, item_id: int, heading: str | None, note: str | None) -> bool:
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE pack_items SET heading = COALESCE(?, heading), note = COALESCE(?, note) "
                "WHERE pack_id = ? AND item_id = ?",
                (heading, note, pack_id, item_id),
            ).rowcount
            if changed:
                self._touch_pack(db, pack_id)
            return changed > 0

    def remove_pack_item(self, pack_id: int, item_id: int) -> bool:
        with self.transaction() as db:
            ids = self._pack_order(db, pack_id)
            if item_id not in ids:
                return False
            db.execute("DELETE FROM pack_items WHERE item_id = ?", (item_id,))
            ids.remove(item_id)
            self._renumber(db, pack_id, ids)
            return True

    def move_pack_item(self, pack_id: int, item_id: int, position: int) -> bool:
        """Put an item at a 0-based position (clamped to the pack); the others keep their order."""
        with self.transaction() as db:
            ids = self._pack_order(db, pack_id)
            if item_id not in ids:
                return False
            ids.remove(item_id)
            ids.insert(max(0, min(position, len(ids))), item_id)
            self._renumber(db, pack_id, ids)
            return True

    @staticmethod
    def _pack_order(db: sqlite3.Connection, pack_id: int) -> list[int]:
        rows = db.execute("SELECT item_id FROM pack_items WHERE pack_id = ? ORDER BY position, item_id", (pack_id,))
        return [r[0] for r in rows]

    def _renumber(self, db: sqlite3.Connection, pack_id: int, ids: list[int]) -> None:
        db.executemany("UPDATE pack_items SET position = ? WHERE item_id = ?", [(n, i) for n, i in enumerate(ids)])
        self._touch_pack(db, pack_id)

    @staticmethod
    def _touch_pack(db: sqlite3.Connection, pack_id: int) -> None:
        db.execute("UPDATE packs SET updated = ? WHERE pack_id = ?", (now(), pack_id))
