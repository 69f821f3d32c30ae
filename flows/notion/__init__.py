"""Notion: the channel boards that mirror videos, and the cards that queue new ones.

Pure modules (no Prefect; safe to import anywhere, tested without a server):

* ``schema``    the board's configuration, our fields and the Notion types they fit, how a
                board's own schema maps onto them (status options included), what it lacks
* ``cards``     the page properties a video's card gets, read back from a card
* ``client``    calls to Notion: one client per board, one retry layer, errors translated
* ``provision`` making a board (database + data source), adding what one lacks, checking it
* ``plans``     the plan a card carries: from allowed folders and hosts only
* ``records``   our database's view of cards and boards (data functions, ``*, session``)

Prefect-aware modules (tasks, flows, blocks, the ``notion-api`` rate limit):

* ``boards``    boards loaded from blocks, rate-limited callers, each board's schema cached
* ``push``      writing one video's card, once, by one writer at a time
* ``sync``      fire-and-forget syncs from the pipeline
* ``reconcile`` the ``notion-reconcile`` flow: every card that is behind
* ``intake``    the ``notion-intake`` flow: cards marked queued become videos

Nothing here is imported by this ``__init__``: importing a pure module never loads Prefect.
"""
