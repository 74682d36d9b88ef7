"""`andromede kms rotate-project-kek PROJECT`: a new KEK for one project, its secrets' DEKs re-wrapped under it.

Run on the controller, against its database and with its master KEK settings (the data dir's key file, or the
same ANDROMEDE_KMS_PKCS11_* as the server), while the cloud runs or not. Payloads and volume data are untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from andromede.common.config import Settings

kms_app = typer.Typer(help="The key manager's key hierarchy (operator commands).", no_args_is_help=True)


@kms_app.command("rotate-project-kek")
def rotate_project_kek(
    project_id: Annotated[str, typer.Argument(help="The project whose KEK to replace.")],
    data_dir: Annotated[Path | None, typer.Option(help="The controller's data dir (database, master key).")] = None,
    database_url: Annotated[str, typer.Option(help="SQLAlchemy URL of the controller's database, if not SQLite.")]
    = "",
) -> None:
    """Replace a project's KEK and re-wrap every DEK of the project under the new one."""
    from andromede.db.engine import Database
    from andromede.kms.keys import rotate_project_kek as rotate
    from andromede.kms.keystore import MasterKeyError, open_master_key

    overrides: dict = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir.resolve()
    if database_url:
        overrides["database_url"] = database_url
    settings = Settings(**overrides)
    try:
        master = open_master_key(settings)
    except MasterKeyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    db = Database(settings.db_url)
    try:
        with db.session() as session:
            count = rotate(session, master, project_id)
    finally:
        master.close()
        db.engine.dispose()
    typer.echo(f"Project {project_id}: new KEK; {count} DEK(s) re-wrapped.")
