"""Publishing approved videos: to YouTube (resumable, exactly once, within quota) or, offline
and keyless, to the channel's ``published/`` folder. Same shape either way:
``approved → publishing → published`` (the public URL on the video and its card), or
``publish_waiting`` (quota, until midnight Pacific; a dead run) or ``publish_error``.

- ``publish.py``: the publish step (``publish_video``), called by produce-video right after an
  approval, and the ``publish`` flow (``reelflow publish VIDEO_ID``) for one video later;
- ``youtube.py``: the upload through ``scripts/publish_youtube.py``, its session recorded in
  the database before the first byte and advanced as YouTube confirms bytes;
- ``folder.py``: ``scripts/publish_folder.py``;
- ``pending.py``: the scheduled ``publish-pending`` flow for ``publish_waiting`` videos.

The logic without Prefect is in ``flows/core``: publishing.py (the video resource, checked
against YouTube's limits), uploads.py (the session records), quota.py (costs and resets).
"""
