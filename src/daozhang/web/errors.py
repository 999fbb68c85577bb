"""What the web app says when it cannot do what was asked: a page or ``{"error": ...}``.

A user never sees a stack trace: every error becomes a page in their
language (or, under ``/api/``, a JSON object ``{"error": {"code",
"message"}}``), and an unexpected one is logged on the server with its
traceback and shown to the user only as "something went wrong".
"""

from __future__ import annotations

__all__ = [
    "ERROR_CODES",
    "LoginRequiredError",
    "UploadTooLargeError",
    "WebError",
]

ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "busy",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


class WebError(Exception):
    """An error shown to the user: an HTTP status and a message from the dictionary.

    ``word`` is a key of :mod:`daozhang.web.i18n` (formatted with
    ``params``); ``detail`` is text already in the user's language (a
    service's own message), shown after it.
    """

    def __init__(
        self,
        status: int,
        word: str | None = None,
        *,
        detail: str | None = None,
        headers: dict[str, str] | None = None,
        **params: object,
    ) -> None:
        super().__init__(word or ERROR_CODES.get(status, str(status)))
        self.status = status
        self.word = word
        self.detail = detail
        self.headers = headers or {}
        self.params = params

    @property
    def code(self) -> str:
        return ERROR_CODES.get(self.status, "error")


class LoginRequiredError(Exception):
    """A page was asked for without a valid session: go to the login page (and come back)."""


class UploadTooLargeError(Exception):
    """The request body is over the limit (counted while it arrives)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit
