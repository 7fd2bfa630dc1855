"""Turn review PDFs into stored, cited passages."""

from ingest.pipeline import FileOutcome, discover, ingest_file, ingest_paths

__all__ = ["FileOutcome", "discover", "ingest_file", "ingest_paths"]
