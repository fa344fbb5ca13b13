"""`python -m bot.cli …`, as the processes `sadar run` starts use it."""

from bot.cli.main import app

app()
