"""Media links for reviewers: signed URLs into the output folder, and the server that
answers them (``reelflow media serve``).

- ``links``: pure; building and checking signed links (no Prefect, no I/O).
- ``server``: pure; the read-only HTTP app over the output folder (Starlette).
- ``keys``: Prefect-aware; the signing key, kept in a Prefect Secret block, and the links
  of this process's settings.
"""
