"""Answering: question -> retriever -> answerer -> `Answer`, as one service, `Newsdesk`.

`chain` holds the LCEL chain and the `Newsdesk` service every front end calls; `retriever` and
`timeframe` find the chunks; `registry` names the answerers (`extractive`, `llm`), which share
`base`; `answer` holds the values a question gets back.
"""

from bot.answering.answer import NOT_FOUND, Answer, Citation, Turn, draft_text
from bot.answering.chain import InvalidQuestionError, Newsdesk
from bot.answering.registry import UnknownAnswererError, make_answerer

__all__ = [
    "NOT_FOUND",
    "Answer",
    "Citation",
    "InvalidQuestionError",
    "Newsdesk",
    "Turn",
    "UnknownAnswererError",
    "draft_text",
    "make_answerer",
]
