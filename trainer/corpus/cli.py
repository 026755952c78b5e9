"""`python -m trainer corpus {github,add-dir,stats,export,resplit}`."""

from __future__ import annotations

import argparse
import json
import os
import time

from trainer.errors import UserError

DEFAULT_DB = "data/corpus.sqlite"


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=DEFAULT_DB, help=f"corpus SQLite database (default {DEFAULT_DB})")


def _add_ingest_options(p: argparse.ArgumentParser) -> None:
    _add_db(p)
    p.add_argument("--min-bytes", type=int, default=1024, help="skip .py files smaller than this (default 1 KiB)")
    p.add_argument("--max-bytes", type=int, default=100 * 1024,
                   help="skip .py files larger than this (default 100 KiB)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="skip paths whose relative path or any name in it matches GLOB (repeatable)")
    p.add_argument("--strip-comments", action="store_true",
                   help="remove # comments (docstrings stay); fixed for the database at creation")
    p.add_argument("--near-dup-threshold", type=float, default=0.85,
                   help="drop files whose MinHash Jaccard similarity to a kept file reaches this (0 = off)")
    p.add_argument("--val-fraction", type=float, default=0.05, help="share of repositories in val (default 0.05)")
    p.add_argument("--test-fraction", type=float, default=0.05, help="share of repositories in test (default 0.05)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the per-repository split hash")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    from trainer.corpus.github import DEFAULT_LICENSES  # stdlib-only module: cheap to import
    gh = sub.add_parser("github", help="crawl Python files from GitHub (resumable; token from GITHUB_TOKEN)")
    _add_ingest_options(gh)
    gh.add_argument("--min-stars", type=int, default=100, help="only repositories with at least this many stars")
    gh.add_argument("--language", default="Python", help="GitHub language of the repositories (default Python)")
    gh.add_argument("--created-from", default="2015-01-01", help="first repository creation date, YYYY-MM-DD")
    gh.add_argument("--created-to", default=None, help="last repository creation date, YYYY-MM-DD (default today)")
    gh.add_argument("--max-repos", type=int, default=None, help="stop after this many repositories")
    gh.add_argument("--api-url", default="https://api.github.com", help="GitHub REST API base URL")
    gh.add_argument("--licenses", default=",".join(DEFAULT_LICENSES),
                    help="comma-separated SPDX ids allowed (exact match; default: common permissive licences)")
    gh.add_argument("--max-wait", type=float, default=None,
                    help="cap every rate-limit/backoff wait at this many seconds (tests; default: no cap)")
    gh.add_argument("--retries", type=int, default=5, help="retries of a request after a network error or 5xx")
    gh.add_argument("--timeout", type=float, default=30.0, help="seconds before a request times out")

    ad = sub.add_parser("add-dir", help="ingest .py files from local folders (each top-level entry = a repository)")
    ad.add_argument("paths", nargs="+", metavar="PATH", help="folders to walk recursively")
    _add_ingest_options(ad)

    st = sub.add_parser("stats", help="files, bytes, repositories, licences, splits, duplicates, skips")
    _add_db(st)
    st.add_argument("--json", action="store_true", help="print JSON")

    ex = sub.add_parser("export", help="write kept files as JSONL shards per split")
    _add_db(ex)
    ex.add_argument("--out", required=True, help="output folder (shards <split>-NNNNN.jsonl + manifest.json)")
    ex.add_argument("--shard-files", type=int, default=10000, help="files per shard (default 10000)")

    rs = sub.add_parser("resplit", help="reassign repositories to splits with new fractions/seed")
    _add_db(rs)
    rs.add_argument("--val-fraction", type=float, required=True, help="share of repositories in val")
    rs.add_argument("--test-fraction", type=float, required=True, help="share of repositories in test")
    rs.add_argument("--split-seed", type=int, default=0, help="seed of the per-repository split hash")


def _options(args):
    from trainer.corpus.ingest import Options
    return Options(min_bytes=args.min_bytes, max_bytes=args.max_bytes, strip_comments=args.strip_comments,
                   near_dup_threshold=args.near_dup_threshold, val_fraction=args.val_fraction,
                   test_fraction=args.test_fraction, split_seed=args.split_seed, exclude=args.exclude)


def _summary(db: str, counts: dict, seconds: float) -> None:
    from trainer.corpus.export import format_stats, stats
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new"
    print(f"this run ({seconds:.1f}s): {done}")
    print(format_stats(stats(db)))


def run(args) -> int:
    t0 = time.monotonic()
    if args.command == "github":
        from trainer.corpus import github
        licenses = [lic.strip() for lic in args.licenses.split(",") if lic.strip()]
        if not licenses:
            raise UserError("--licenses is empty")
        if args.max_repos is not None and args.max_repos < 1:
            raise UserError("--max-repos must be at least 1")
        client = github.Client(args.api_url, os.environ.get("GITHUB_TOKEN") or None, max_wait=args.max_wait,
                               retries=args.retries, timeout=args.timeout)
        counts = github.crawl(args.db, client, _options(args), min_stars=args.min_stars, language=args.language,
                              created_from=args.created_from, created_to=args.created_to,
                              max_repos=args.max_repos, licenses=licenses, progress=not args.quiet)
        _summary(args.db, counts, time.monotonic() - t0)
    elif args.command == "add-dir":
        from trainer.corpus.localdir import add_dirs
        counts = add_dirs(args.db, args.paths, _options(args), progress=not args.quiet)
        _summary(args.db, dict(counts), time.monotonic() - t0)
    elif args.command == "stats":
        from trainer.corpus.export import format_stats, stats
        s = stats(args.db)
        print(json.dumps(s, indent=2) if args.json else format_stats(s))
    elif args.command == "export":
        from trainer.corpus.export import export
        counts = export(args.db, args.out, args.shard_files)
        print(f"exported to {args.out}: " + ", ".join(f"{k} {v} files" for k, v in counts.items()))
    elif args.command == "resplit":
        from trainer.corpus import store
        from trainer.corpus.splits import resplit
        if not os.path.exists(args.db):
            raise UserError(f"no corpus database at {args.db}")
        with store.writer_lock(args.db):
            conn = store.connect(args.db)
            try:
                changed = resplit(conn, args.val_fraction, args.test_fraction, args.split_seed)
            finally:
                conn.close()
        print(f"{changed} repositories changed split")
    return 0
