"""``python -m daozhang``: the same as the ``daozhang`` command."""

from daozhang.cli.main import main

main()
