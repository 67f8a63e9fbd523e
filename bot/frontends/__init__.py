"""Front ends: thin adapters from people to the two services (`Newsdesk`, `Ingestor`).

`cli` is the `newsdesk` command, `telegram` the python-telegram-bot Application, `render` the
Telegram HTML of an answer. None of them answers or ingests anything itself.
"""
