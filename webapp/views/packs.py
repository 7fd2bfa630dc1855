"""Learning packs: list, create, edit, reorder, delete, add a passage, and download as Word, PDF or Markdown.

Every change is a POST answered with a redirect, so reloading a page never repeats it.
"""

from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, Response, redirect, render_template, request, url_for

from kb.research import pack_export
from kb.research.packs import (
    HEADING_MAX,
    INTRODUCTION_MAX,
    NOTE_MAX,
    TITLE_MAX,
    Missing,
    Pack,
    PackError,
    checked_heading,
    checked_note,
)
from webapp import params
from webapp.errors import AppError, not_found

bp = Blueprint("packs", __name__)
MAX_ID = 2**63 - 1
LIMITS = {"title": TITLE_MAX, "introduction": INTRODUCTION_MAX, "heading": HEADING_MAX, "note": NOTE_MAX}


@bp.url_value_preprocessor
def _ids_fit_sqlite(endpoint, values):
    """An id past SQLite's 64-bit integers names nothing stored (and SQLite would refuse it)."""
    for key, what in (("pack_id", "That learning pack"), ("item_id", "That item")):
        if values and values.get(key, 0) > MAX_ID:
            raise not_found(what)


def _whole(raw: str) -> int | None:
    """A form's whole number, or None; '²' is a digit to str.isdigit but not to int()."""
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


@contextmanager
def _checked():
    """kb checks every value; its refusals are the user's 400s and 404s."""
    try:
        yield
    except PackError as exc:
        raise AppError(400, str(exc)) from None
    except Missing as exc:
        raise not_found(exc.what) from None


def _field(name: str) -> str:
    value = request.form.get(name, "")
    # Far past any limit: refuse before cleaning a megabyte of text.
    if len(value) > 4 * LIMITS[name] + 1000:
        raise AppError(400, f"The {name} is far too long: at most {LIMITS[name]} characters.")
    return value


def _pack(pack_id: int) -> Pack:
    pack = params.store().packs.get(pack_id)
    if pack is None:
        raise not_found("That learning pack")
    return pack


def _to_pack(pack_id: int, item_id: int | None = None):
    anchor = f"item-{item_id}" if item_id else None
    return redirect(url_for("packs.show", pack_id=pack_id, _anchor=anchor), code=303)


@bp.get("/packs")
def index():
    return render_template("packs/index.html", packs=params.store().packs.list(), limits=LIMITS)


@bp.post("/packs")
def create():
    with _checked():
        pack = params.store().packs.create(_field("title"), _field("introduction"))
    return _to_pack(pack.pack_id)


@bp.get("/packs/<int:pack_id>")
def show(pack_id: int):
    kb = params.store()
    return render_template("packs/show.html", pack=_pack(pack_id), limits=LIMITS, taxonomy=kb.tagger.taxonomy,
                           formats=[("docx", "Word"), ("pdf", "PDF"), ("md", "Markdown")])


@bp.post("/packs/<int:pack_id>/details")
def update(pack_id: int):
    with _checked():
        params.store().packs.update(pack_id, _field("title"), _field("introduction"))
    return _to_pack(pack_id)


@bp.get("/packs/<int:pack_id>/delete")
def confirm_delete(pack_id: int):
    return render_template("packs/delete.html", pack=_pack(pack_id))


@bp.post("/packs/<int:pack_id>/delete")
def delete(pack_id: int):
    with _checked():
        params.store().packs.delete(pack_id)
    return redirect(url_for("packs.index"), code=303)


@bp.post("/packs/<int:pack_id>/items/<int:item_id>")
def edit_item(pack_id: int, item_id: int):
    with _checked():
        params.store().packs.edit(pack_id, item_id, heading=_field("heading"), note=_field("note"))
    return _to_pack(pack_id, item_id)


@bp.post("/packs/<int:pack_id>/items/<int:item_id>/move")
def move_item(pack_id: int, item_id: int):
    packs = params.store().packs
    direction = request.form.get("direction", "")
    with _checked():
        if direction == "up":
            packs.move_up(pack_id, item_id)
        elif direction == "down":
            packs.move_down(pack_id, item_id)
        elif direction == "to":
            packs.move(pack_id, item_id, _position() - 1)
        else:
            raise AppError(400, "Choose to move the item up, down, or to a numbered position.")
    return _to_pack(pack_id, item_id)


def _position() -> int:
    position = _whole(request.form.get("position", ""))
    if position is None or not 1 <= position <= 10_000:
        raise AppError(400, "The position must be a whole number from 1 to the number of items.")
    return position


@bp.post("/packs/<int:pack_id>/items/<int:item_id>/remove")
def remove_item(pack_id: int, item_id: int):
    with _checked():
        params.store().packs.remove(pack_id, item_id)
    return _to_pack(pack_id)


@bp.get("/packs/add")
def add_form():
    kb = params.store()
    passage_id = request.args.get("passage", "").strip()
    if not passage_id:
        raise AppError(400, "Choose a passage to add, from a search result or a theme page.")
    passage = kb.passage(passage_id)
    if passage is None:
        raise not_found("That passage")
    holding = set(kb.packs.holding(passage_id))
    return render_template(
        "packs/add.html", passage=passage, document=kb.document(passage.doc_id), packs=kb.packs.list(),
        holding=holding, limits=LIMITS,
    )


@bp.post("/packs/add")
def add():
    kb = params.store()
    passage_id = request.form.get("passage", "").strip()
    if not passage_id or kb.passage(passage_id) is None:
        raise not_found("That passage")
    choice = request.form.get("pack", "").strip()
    with _checked():
        # checked before a new pack is made, so a refused note leaves no empty pack behind
        heading, note = checked_heading(_field("heading")), checked_note(_field("note"))
        if choice == "new":
            pack_id = kb.packs.create(_field("title")).pack_id
        elif _whole(choice) is not None:
            pack_id = _whole(choice)
        else:
            raise AppError(400, "Choose a learning pack, or give a title for a new one.")
        item_id = kb.packs.add(pack_id, passage_id, heading=heading, note=note)
    return _to_pack(pack_id, item_id)


@bp.get("/packs/<int:pack_id>.<any(docx, pdf, md):fmt>")
def download(pack_id: int, fmt: str):
    pack = _pack(pack_id)
    return Response(
        pack_export.export(pack, fmt), mimetype=pack_export.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{pack_export.filename(pack, fmt)}"',
                 "Cache-Control": "no-store"},
    )
