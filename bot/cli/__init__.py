"""The ``compass`` command: one module per group of subcommands, all thin glue over bot/run and bot/app."""
