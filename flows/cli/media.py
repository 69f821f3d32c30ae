"""``reelflow media``: serve the output folder to reviewers over signed links."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import fail, run
from flows.core.settings import get_settings

__all__ = ["app"]

DEFAULT_SERVE_URL = "http://127.0.0.1:8765"

app = typer.Typer(no_args_is_help=True, help="Links to finished media for reviewers.")


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    """Serve the output folder, read only, to signed links (videos seek: Range requests).

    Set REELFLOW_MEDIA_SERVE_URL to the address reviewers reach this server at: cards and
    review pages then link the files here.
    """
    import uvicorn

    from flows.media.keys import load_key
    from flows.media.server import create_app

    settings = get_settings()

    async def serve() -> None:
        app = create_app(settings.output_dir, await load_key())
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        typer.echo(f"serving {settings.output_dir} at http://{host}:{port}/media/ (Ctrl-C stops)")
        if not settings.media_url and not settings.media_serve_url:
            typer.echo(
                f"set REELFLOW_MEDIA_SERVE_URL=http://{host}:{port} (as reviewers reach it) "
                "for cards and review pages to link here"
            )
        await uvicorn.Server(config).serve()

    run(serve())


@app.command("link")
def link_command(
    path: Annotated[Path, typer.Argument(help="A file under the output folder.")],
) -> None:
    """Print a link to one file (signed, valid for REELFLOW_MEDIA_LINK_HOURS), at
    REELFLOW_MEDIA_SERVE_URL (default http://127.0.0.1:8765) or under REELFLOW_MEDIA_URL."""
    from flows.media.keys import media_links

    links = run(media_links(serve_url=DEFAULT_SERVE_URL))
    assert links is not None
    url = links.url_for(path)
    if url is None or not path.is_file():
        fail(f"{path} is not a file under the output folder {links.root}")
    typer.echo(url)
