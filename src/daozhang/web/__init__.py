"""``daozhang serve``: the web dashboard and the REST API (see :mod:`daozhang.web.app`)."""

from daozhang.web.app import create_app
from daozhang.web.config import WebConfig

__all__ = ["WebConfig", "create_app"]
