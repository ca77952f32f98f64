"""`plan-assistant backup DIR` and `plan-assistant restore DIR [--force]` (the embedded data directory)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from assistant.backup import Snapshot, backup, restore
from assistant.cli.common import print_json, settings_from_args
from assistant.config import Settings
from assistant.errors import BadRequest


def _embedded(args: argparse.Namespace) -> Settings:
    settings = settings_from_args(args)
    if settings.qdrant_url:
        raise BadRequest("QDRANT_URL が設定されています: 索引は Qdrant サーバーにあるため、このコマンドでは"
                         "バックアップできません。サーバーのスナップショット機能を使ってください")
    return settings


def _print(verb: str, where: Path, snap: Snapshot, as_json: bool) -> None:
    if as_json:
        print_json({"action": verb, "dir": str(where), **dataclasses.asdict(snap)})
        return
    print(f"{verb} {snap.documents} documents, {snap.chunks} chunks ({snap.index_points} in the index), "
          f"{snap.files} files, {snap.bytes / 1e6:.1f} MB: {where}")


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _embedded(args)
    target = Path(args.dir)
    _print("backed up", target, backup(settings.data_dir, target), args.json)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = _embedded(args)
    _print("restored", settings.data_dir, restore(Path(args.dir), settings.data_dir, force=args.force), args.json)
    return 0


def add_backup_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="snapshot the data directory (registry, index, uploads) into DIR",
                       description="Copy the data directory into DIR (new or empty) while no ingest runs "
                                   "(takes the data directory's lock: stop a running service first), with "
                                   "manifest.json (version, documents, chunks, SHA-256 per file). The vector "
                                   "cache is not included.")
    p.add_argument("dir", help="backup directory (new or empty)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore the data directory from a backup DIR",
                       description="Check every file of the backup against its manifest, then replace the "
                                   "data directory's contents with it. A non-empty data directory is refused "
                                   "unless --force.")
    p.add_argument("dir", help="backup directory written by `plan-assistant backup`")
    p.add_argument("--force", action="store_true", help="replace a data directory that is not empty")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restore)
