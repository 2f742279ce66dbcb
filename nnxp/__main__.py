"""``python -m nnxp`` runs the command line."""

from nnxp.cli import main

raise SystemExit(main())
