"""The `sadar` command line (the entry point is bot.cli.main:app)."""
