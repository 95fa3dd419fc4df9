"""Which process runs which training version, so that a restart can tell a run that died
(its process is gone) from one that another live process (the CLI, the app) is still doing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer
from sqlmodel import Field, Session, SQLModel

from core.store.base import now


class TrainJob(SQLModel, table=True):
    __tablename__ = "train_jobs"
    version_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    pid: int
    host: str
    started_at: datetime = Field(default_factory=now)


def add(s: Session, version_id: int, pid: int, host: str) -> None:
    s.add(TrainJob(version_id=version_id, pid=pid, host=host))
    s.flush()


def get(s: Session, version_id: int) -> TrainJob | None:
    return s.get(TrainJob, version_id)
