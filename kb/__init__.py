"""scrkb's knowledge base: storage, search and the models shared by every stage."""

from kb.knowledge_base import KnowledgeBase
from kb.models import (
    Block,
    Document,
    DocumentMeta,
    EntitySpan,
    Evidence,
    ExtractedDocument,
    Failure,
    FailureReason,
    Hit,
    IngestReport,
    Line,
    Page,
    Passage,
    ThemeMatch,
)
from kb.settings import Settings
from kb.store.vectors import VectorStoreUnavailable

__version__ = "0.1.0"

__all__ = [
    "Block", "Document", "DocumentMeta", "EntitySpan", "Evidence", "ExtractedDocument",
    "Failure", "FailureReason", "Hit", "IngestReport", "KnowledgeBase", "Line", "Page",
    "Passage", "Settings", "ThemeMatch", "VectorStoreUnavailable", "__version__",
]
