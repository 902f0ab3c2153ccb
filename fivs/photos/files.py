"""The media storage of the app, and photo files that follow the database transaction.

`get_storage()` is the app's backend (FileStorage, or S3Storage when FIVS_MEDIA_URL is s3://...).
Whoever commits (an HTML view, the API, a command), the files follow: `stage_on_commit` prepares a
derivative (a staging file, or an object PUT at once) that stays once the transaction COMMITS and is
discarded when it rolls back (or the session closes); `delete_on_commit` removes a key after the
commit. So a failed upload leaves neither a file nor a row, and a refused delete keeps both.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from fivs.extensions import db
from fivs.photos.s3storage import S3Storage, parse_s3_url
from fivs.photos.storage import FileStorage, PendingWrite, Storage, content_type_for

log = logging.getLogger(__name__)

PHOTO_STORAGE = "fivs.photo_storage"  # app.extensions key of the backend
_PENDING = "fivs.photos.pending"


def open_storage(config) -> Storage:
    """The backend a configuration names: MEDIA_URL s3://BUCKET/PREFIX (with S3_ENDPOINT_URL for a
    service other than AWS), else the folder MEDIA_ROOT."""
    url = config.get("MEDIA_URL") or ""
    if not url:
        return FileStorage(config["MEDIA_ROOT"])
    bucket, prefix = parse_s3_url(url)
    return S3Storage(bucket, prefix, endpoint_url=config.get("S3_ENDPOINT_URL") or None)


def get_storage() -> Storage:
    """The app's media storage (one per app)."""
    storage = current_app.extensions.get(PHOTO_STORAGE)
    if storage is None:
        storage = current_app.extensions[PHOTO_STORAGE] = open_storage(current_app.config)
    return storage


def stage_on_commit(data: bytes, key: str) -> None:
    """`data` stays under `key` when the session's transaction commits (and is gone if it does not)."""
    _pend(_Move(get_storage().prepare(key, data, content_type_for(key))))


def delete_on_commit(key: str) -> None:
    """The file under `key` goes when the session's transaction commits (stays if it rolls back)."""
    _pend(_Delete(get_storage(), key))


@dataclass(frozen=True)
class _Move:
    """A prepared write that stays when the transaction commits and is discarded when it does not."""

    write: PendingWrite

    def commit(self) -> None:
        self.write.commit()

    def rollback(self) -> None:
        try:
            self.write.discard()
        except OSError:  # the object store is away: the sweep removes what is left
            log.exception("photo file could not be discarded after a rollback: %r", self.write)


@dataclass(frozen=True)
class _Delete:
    """A file removed when the transaction commits (kept when it rolls back)."""

    storage: Storage
    key: str

    def commit(self) -> None:
        self.storage.delete(self.key)

    def rollback(self) -> None:
        pass


def _pend(op: _Move | _Delete) -> None:
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, op))


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _files_on_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint was released: nothing is durable yet
        return
    for _transaction, op in session.info.pop(_PENDING, []):
        try:
            op.commit()
        except OSError:  # the rows are committed; say loudly which file could not follow
            log.exception("photo file operation failed after commit: %r", op)


@event.listens_for(Session, "after_soft_rollback")
def _files_on_savepoint_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept = []
    for transaction, op in pending:
        if _inside(transaction, previous_transaction):
            op.rollback()
        else:
            kept.append((transaction, op))
    session.info[_PENDING] = kept


@event.listens_for(Session, "after_transaction_end")
def _files_on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # ended without a commit (rolled back or closed): undo the rest
        for _transaction, op in session.info.pop(_PENDING, []):
            op.rollback()
