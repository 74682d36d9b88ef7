"""`andromede verify-certificate FILE`: checks a deletion certificate offline, against the installation's public
key (the data dir's kms/certificate-signing-key.pub.pem, or --public-key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from andromede.common.config import Settings


def verify_certificate(
    file: Annotated[Path, typer.Argument(help="The certificate (JSON), as the API answered it.")],
    public_key: Annotated[Path | None, typer.Option(help="The installation's Ed25519 public key (PEM).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Read the public key from this data dir.")] = None,
) -> None:
    """Check that a deletion certificate was signed by this installation and say what it certifies."""
    from andromede.kms.certificates import load_public_key, verify

    if public_key is None:
        overrides: dict = {"data_dir": data_dir.resolve()} if data_dir is not None else {}
        settings = Settings(**overrides)
        public_key = settings.data_dir / "kms" / "certificate-signing-key.pub.pem"
    try:
        public = load_public_key(public_key)
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        typer.echo(f"Cannot check {file}: {exc}", err=True)
        raise typer.Exit(2) from None
    problem = verify(document, public)
    if problem is not None:
        typer.echo(f"INVALID: {problem}.", err=True)
        raise typer.Exit(1)
    statement = document["statement"]
    resource = statement.get("resource", {})
    typer.echo(f"VALID: {resource.get('type')} {resource.get('id')} of project {resource.get('project_id')}, key "
               f"{statement.get('key', {}).get('id_digest')} destroyed at {statement.get('deleted_at')} "
               f"({statement.get('method')}).")
