"""`python -m assistant` is the same as the `hearth` command."""

from .cli import main

raise SystemExit(main())
