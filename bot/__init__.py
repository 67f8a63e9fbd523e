"""newsdesk's top layer: answering (`bot.answering`), its front ends (`bot.frontends`) and the
evaluation harness (`bot.evaluation`). It imports `ingest` and `store`, never the other way round.
"""
