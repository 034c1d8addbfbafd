"""The command line: parse options, call one use case, print, choose the exit code.

`app` holds the group and the one error path, `options` every option shared by several commands,
`campaigns` and `servers` the commands. Only click, the settings and the sandbox's defaults load
up front, so `batch-sms --help` imports neither aiohttp nor openpyxl nor pandas.
"""

from batch_sms.cli import campaigns, servers
from batch_sms.cli.app import cli, main

__all__ = ["campaigns", "cli", "main", "servers"]
