"""Review: a person decides before anything goes out.

- ``decision``: the reviewer's answer (the Prefect UI's form, built per video).
- ``gate``: the gate itself, pausing a local run and suspending a deployed one.
- ``previews``: what the reviewer sees in the run's page, and the decision afterwards.
- ``answers``: answering a gate from the CLI, a prompt or the board.
- ``links``: the run's page in the Prefect UI.
- ``notify``: the gate's events, and the automations that message reviewers.
- ``expiry``: the ``expire-reviews`` flow, for gates nobody answered and runs that died.
"""

from flows.review.answers import answer_when_paused, submit_decision
from flows.review.decision import ReviewDecision, SceneChange, decision_form
from flows.review.expiry import expire_reviews
from flows.review.gate import TimeoutAction, review_gate
from flows.review.links import review_link

__all__ = [
    "ReviewDecision",
    "SceneChange",
    "TimeoutAction",
    "answer_when_paused",
    "decision_form",
    "expire_reviews",
    "review_gate",
    "review_link",
    "submit_decision",
]
