"""The processes of a running Sadar and their supervision: the action server, the
reminder worker, `sadar run` (devserver) and the supervisor that restarts what dies."""
