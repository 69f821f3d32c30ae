"""From an idea to a plan: a topic (a model writes it, flows/planning/topic.py), an outline
(offline, flows/core/outline.py), narration that fits its scenes (flows/planning/fit.py), and
the plan-and-produce flow that plans, then makes the video (flows/planning/plan_and_produce.py).
"""
