"""`python -m batch_sms` runs the command-line interface."""

from batch_sms.cli import main

main()
