"""Driving a real server through its public HTTP API, as real clients do (benchmarks, crash tests, and the
caucus-night rehearsal to come): start/kill/restart a server process, prepare an election, and play
precinct chairs whose numbers come from real published results."""

from caucus.rehearse.chairs import ChairScript, Outcome, play_chair, scripts_from_results
from caucus.rehearse.server import ServerProcess, free_port, prepare_election

__all__ = ["ChairScript", "Outcome", "ServerProcess", "free_port", "play_chair", "prepare_election",
           "scripts_from_results"]
