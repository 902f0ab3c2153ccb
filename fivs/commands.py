"""Flask CLI: seed, users, checklists, backup and restore, media sweep."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from fivs.auth.roles import ROLES
from fivs.auth.services import assign_site, create_user, find_user, get_site_by_code, issue_token, revoke_tokens
from fivs.backup import BackupError, create_backup, restore_backup
from fivs.checklists.loader import ChecklistError, checklist_files, load_template, parse_file
from fivs.checklists.services import export_version, find_version
from fivs.extensions import db
from fivs.i18n import environment_language
from fivs.photos.files import get_storage
from fivs.photos.services import sweep_orphans
from fivs.round_sums.queries import store_round_sums, stored_rows
from fivs.services_errors import ServiceError
from fivs.calendar.services import seed_pilot_calendar
from fivs.sites.pilot import DEMO_PASSWORD, DEMO_USERS
from fivs.sites.imports import SiteImportError, import_sites
from fivs.sites.services import seed_pilot_sites

users_cli = AppGroup("users", help="Create users, assign consultants, issue API tokens.")
checklists_cli = AppGroup("checklists", help="Validate, load and export checklist templates (YAML or XLSX).")
media_cli = AppGroup("media", help="Maintain the photo storage (folder or S3 bucket).")
sites_cli = AppGroup("sites", help="Import sites from a CSV or XLSX file.")


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(checklists_cli)
    app.cli.add_command(sites_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(media_cli)
    app.cli.add_command(round_sums_command)


def _fail(message: str) -> None:
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(1)


def localized(command):
    """Run a command in the language of its environment (fivs.i18n.environment_language): what it
    prints for people, and the services' messages it passes on."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        with force_locale(environment_language()):
            return command(*args, **kwargs)
    return run


@click.command("seed")
@click.option("--demo", is_flag=True, help="Also create the demo accounts (if absent).")
@localized
def seed_command(demo: bool) -> None:
    """Load the checklists, the 12 pilot sites and the pilot's calendar (idempotent)."""
    try:
        for line in _load_checklists(current_app.config["CHECKLISTS_DIR"]):
            click.echo(line)
        counts = seed_pilot_sites()
        click.echo(_("sites: %(created)d created, %(kept)d already present", **counts))
        click.echo(_("programme calendar: %(n)d round windows added", n=seed_pilot_calendar()))
        if demo:
            for line in _demo_users():
                click.echo(line)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc.message)


def _load_checklists(directory: str, files=None) -> list[str]:
    parsed, problems = [], []
    for path in files or checklist_files(directory):  # every file checked before any is loaded
        try:
            parsed.append(parse_file(path))
        except ChecklistError as exc:
            problems += exc.problems
    out = []
    try:
        if problems:
            raise ChecklistError(problems)
        for template in parsed:
            result = load_template(template)
            out.append(_("checklist %(key)s v%(version)d: %(what)s", key=result.template.key,
                         version=result.template.version, what=_load_actions().get(result.action, result.action)))
    except ChecklistError as exc:
        db.session.rollback()
        _fail("\n".join(_problem_line(p) for p in exc.problems))
    return out


def _problem_line(problem) -> str:
    """file:where: message, the message in the command's language (when it has a msgid)."""
    text = problem.localized(_)
    return f"{problem.file}:{problem.where}: {text}" if problem.where else f"{problem.file}: {text}"


def _load_actions() -> dict[str, str]:
    """What loading did to a checklist version, as people read it."""
    return {"created": _("created"), "unchanged": _("unchanged"), "updated": _("updated")}


def _demo_users() -> list[str]:
    out = []
    for spec in DEMO_USERS:
        if find_user(spec["username"]):
            continue
        site = get_site_by_code(spec["site"]) if spec.get("site") else None
        user = create_user(spec["username"], spec["role"], password=DEMO_PASSWORD,
                           full_name=spec["full_name"], site=site)
        for code in spec.get("assign", ()):
            assign_site(user, get_site_by_code(code))
        out.append(_("demo user %(name)s (%(role)s) created", name=user.username, role=user.role))
    return out


@sites_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@localized
def sites_import(file: str) -> None:
    """Create and update sites from a .csv (UTF-8) or .xlsx file by code (columns: code, name, kind,
    province, commune, former_province, former_district).

    Prints file:row: problem for every bad row; nothing changes when any row is bad."""
    try:
        result = import_sites(file)
    except SiteImportError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(_problem_line(problem), err=True)
        _fail(_("nothing was imported; problems found: %(n)d.", n=len(exc.problems)))
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc.message)
    db.session.commit()
    click.echo(_("sites: %(created)d created, %(updated)d updated, %(unchanged)d unchanged",
                 created=result.created, updated=result.updated, unchanged=result.unchanged))


@checklists_cli.command("validate")
@click.argument("files", nargs=-1, type=click.Path())
@localized
def checklists_validate(files) -> None:
    """Check checklist files, .yaml or .xlsx (default: every file in checklists/).

    Prints file:line: problem (YAML) or file:sheet:row: problem (XLSX)."""
    paths = list(files) or checklist_files(current_app.config["CHECKLISTS_DIR"])
    failed = 0
    for path in paths:
        try:
            parsed = parse_file(path)
            click.echo(_("%(path)s: ok (%(key)s v%(version)d, %(zones)d zones, %(items)d items)", path=path,
                         key=parsed.key, version=parsed.version, zones=len(parsed.zones),
                         items=sum(len(z["items"]) for z in parsed.zones)))
        except ChecklistError as exc:
            failed += 1
            for problem in exc.problems:
                click.echo(_problem_line(problem), err=True)
    if failed:
        sys.exit(1)


@checklists_cli.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True))
@localized
def checklists_load(files) -> None:
    """Load .yaml or .xlsx checklist files into the database (idempotent; used versions are immutable).

    Nothing is loaded when any file has a problem."""
    for line in _load_checklists(current_app.config["CHECKLISTS_DIR"], files or None):
        click.echo(line)
    db.session.commit()


@checklists_cli.command("export")
@click.argument("key")
@click.argument("version", type=int)
@click.option("--format", "file_format", type=click.Choice(["xlsx", "yaml"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: KEY.vVERSION.FORMAT).")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@localized
def checklists_export(key, version, file_format, output, force) -> None:
    """Write a loaded version (from the database) as an XLSX workbook or a YAML file."""
    template = find_version(key, version) or _fail(
        _("no checklist %(key)s version %(version)d in the database", key=key, version=version))
    path = Path(output or f"{key}.v{version}.{file_format}")
    if path.exists() and not force:
        _fail(_("%(path)s exists (use --force to overwrite it)", path=path))
    path.write_bytes(export_version(template, file_format))
    click.echo(_("%(path)s: %(key)s v%(version)d written as %(format)s", path=path, key=key, version=version,
                 format=file_format))


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--site", "site_code", help="Site code (principal and staff).")
@click.option("--name", "full_name", default="", help="Full name.")
@click.option("--password", help="Password (prompted when absent).")
@localized
def users_create(username, role, site_code, full_name, password) -> None:
    """Create a user."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        site = get_site_by_code(site_code) if site_code else None
        user = create_user(username, role, password=password, full_name=full_name, site=site)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc.message)
    click.echo(_("user %(name)s (%(role)s) created", name=user.username, role=user.role))


@users_cli.command("assign")
@click.argument("username")
@click.argument("site_code")
@localized
def users_assign(username, site_code) -> None:
    """Assign a consultant to a site."""
    user = find_user(username) or _fail(_("no user %(name)r", name=username))
    try:
        changed = assign_site(user, get_site_by_code(site_code))
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        _fail(exc.message)
    click.echo(_("%(name)s assigned to %(site)s", name=username, site=site_code) if changed else
               _("%(name)s already assigned to %(site)s", name=username, site=site_code))


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="", help="A label for the token (device, integration).")
@localized
def users_token(username, name) -> None:
    """Print a new API token for USERNAME (shown once; stored only as a hash)."""
    user = find_user(username) or _fail(_("no user %(name)r", name=username))
    _row, token = issue_token(user, name)
    db.session.commit()
    click.echo(token)


@users_cli.command("revoke-token")
@click.argument("username")
@click.option("--id", "token_id", type=int, help="Only this token id (default: all).")
@localized
def users_revoke_token(username, token_id) -> None:
    """Revoke API tokens of USERNAME."""
    user = find_user(username) or _fail(_("no user %(name)r", name=username))
    count = revoke_tokens(user, token_id)
    db.session.commit()
    click.echo(_("%(n)d token(s) revoked", n=count))


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
@localized
def backup_command(file) -> None:
    """Write FILE (.tar.gz): a consistent database snapshot, every media file and a manifest of checksums."""
    try:
        manifest = create_backup(file)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(_("backup written to %(file)s: %(database)s database (schema %(schema)s), %(media)d media files",
                 file=file, database=manifest["database"], schema=manifest["schema_revision"] or _("unknown"),
                 media=manifest["media_files"]))


@click.command("round-sums")
@with_appcontext
@localized
def round_sums_command() -> None:
    """Store every site's sums of its baseline and final not stored yet: once, after upgrading a database that
    holds submitted rounds (the audit services store them from then on); running it again stores nothing."""
    before = stored_rows()
    store_round_sums()
    db.session.commit()
    click.echo(_("round sums: %(n)d rows stored", n=stored_rows() - before))


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Restore even if the database or media folder holds data (overwrites it).")
@with_appcontext
@localized
def restore_command(file, force: bool) -> None:
    """Restore FILE (made by `backup`) into an empty installation, after checking every checksum."""
    try:
        manifest = restore_backup(file, force=force)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(_("restored %(file)s (made %(made)s): %(database)s database, %(media)d media files. If this code "
                 "is newer than schema %(schema)s, run `flask --app wsgi db upgrade`.", file=file,
                 made=manifest["created_at"], database=manifest["database"], media=manifest["media_files"],
                 schema=manifest["schema_revision"] or _("unknown")))


@media_cli.command("sweep")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), default=60, show_default=True,
              help="Minutes: younger files are left alone (their upload may still be committing).")
@click.option("--dry-run", is_flag=True, help="Only report the orphans; remove nothing.")
@with_appcontext
@localized
def media_sweep(older_than: int, dry_run: bool) -> None:
    """Report and remove photo files that no photo row names (left by a crash between write and commit)."""
    report = sweep_orphans(older_than_seconds=older_than * 60, remove=not dry_run)
    for key in report.orphans:
        click.echo(_("orphan: %(key)s", key=key))
    for key in report.foreign:
        click.echo(_("not a photo file, left alone: %(key)s", key=key))
    if dry_run:
        click.echo(_("%(n)d orphan(s) found in %(where)s (dry run: nothing removed)", n=len(report.orphans),
                     where=get_storage().description))
    else:
        click.echo(_("%(n)d orphan(s) removed from %(where)s, %(staged)d staging file(s) purged",
                     n=len(report.orphans), where=get_storage().description, staged=report.staged_purged))
