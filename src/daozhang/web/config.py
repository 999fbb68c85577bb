"""The web app's limits and switches, set once where the app is made (``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WebConfig"]

_MB = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """Limits that protect the server from a mistaken or hostile upload.

    Attributes:
        max_upload_bytes: one upload request (all its files together).
        max_form_bytes: any other request body (a form with a few fields).
        max_files: files in one upload.
        max_zip_members: files inside one ZIP.
        max_unzipped_bytes: what the files of one upload may add up to once
            unpacked (a ZIP bomb is stopped here, counted while unpacking,
            not trusted from the ZIP's own header).
        max_zip_ratio: unpacked size over packed size of one member; CSV
            exports pack 5 to 20 times, a ZIP bomb thousands.
        secure_cookies: mark cookies Secure; None decides per request (https).
        per_page: rows per page in the web lists.
    """

    max_upload_bytes: int = 512 * _MB
    max_form_bytes: int = 1 * _MB
    max_files: int = 2_000
    max_zip_members: int = 20_000
    max_unzipped_bytes: int = 4096 * _MB
    max_zip_ratio: int = 200
    secure_cookies: bool | None = None
    per_page: int = 50
