"""``python -m tokenomy`` runs the command line."""

from tokenomy.cli import main

main()
