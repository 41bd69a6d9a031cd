"""``python -m tokenomy`` runs the command line."""

from tokenomy.entry import main

main()
