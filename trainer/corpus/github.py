"""`corpus github`: crawl Python files from GitHub's REST API into the corpus database.

Three resumable phases, each step committed with the state that marks it done:
  1. search  /search/repositories in `created:` windows, halved until each has < 1,000 results (the search cap);
  2. repos   licence from the repository's SPDX id (exact match against the allow-list), then the default
             branch's recursive tree; every .py blob becomes a `files` row (pending, or skipped by size);
  3. blobs   each pending blob fetched once by SHA (/git/blobs/{sha}) and run through the shared filters.
A blob whose SHA was already processed is never fetched. Rate limits are honoured (X-RateLimit-*, Retry-After,
403/429 secondary limits); network errors and 5xx are retried with backoff, then recorded, and the crawl moves on.
The token comes from GITHUB_TOKEN and is only ever put in the Authorization header.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import http.client
import json
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from tqdm import tqdm

from trainer.corpus import store
from trainer.corpus.ingest import Ingester, Options, wanted
from trainer.errors import UserError

SOURCE = "github"
API_VERSION = "2022-11-28"
SEARCH_CAP = 1000  # the search API returns at most this many results per query
PER_PAGE = 100
# Permissive licences (SPDX ids as GitHub reports them); compared exactly, never as substrings.
DEFAULT_LICENSES = ("MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "0BSD",
                    "ISC", "Unlicense", "CC0-1.0", "Zlib", "BSL-1.0", "PSF-2.0", "Python-2.0", "UPL-1.0", "WTFPL",
                    "NCSA", "PostgreSQL")
TIME_FMT = "%Y-%m-%dT%H:%M:%SZ"


class HttpError(Exception):
    """A response that retrying will not fix (404, 409 empty repository, 451, 422, forbidden)."""

    def __init__(self, status: int, url: str, message: str):
        super().__init__(f"HTTP {status} for {url}: {message}")
        self.status = status


class RequestFailed(Exception):
    """Transient errors persisted through every retry; the caller records it and moves on."""


def _log(msg: str) -> None:
    tqdm.write(msg, file=sys.stderr)


class Client:
    """GET JSON from the GitHub REST API, waiting out rate limits and retrying transient failures.

    `sleep`/`clock` are injectable and `max_wait` caps any single wait, so tests run in milliseconds.
    """

    def __init__(self, api_url: str = "https://api.github.com", token: str | None = None, *,
                 max_wait: float | None = None, retries: int = 5, backoff: float = 2.0, timeout: float = 30.0,
                 max_rate_waits: int = 30, sleep=time.sleep, clock=time.time):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.max_wait, self.retries, self.backoff, self.timeout = max_wait, retries, backoff, timeout
        self.max_rate_waits = max_rate_waits
        self.sleep, self.clock = sleep, clock
        self.reset_at: dict[str, float] = {}  # resource ("core", "search") -> epoch when its quota returns
        self.waits: list[tuple[str, float]] = []  # (why, seconds): what the client waited, for logs and tests
        self.requests = 0

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                   "User-Agent": "tinyfim-trainer"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _wait(self, seconds: float, why: str) -> None:
        seconds = max(0.0, seconds)
        if self.max_wait is not None:
            seconds = min(seconds, self.max_wait)
        self.waits.append((why, seconds))
        if seconds >= 1:
            _log(f"waiting {seconds:.0f}s: {why}")
        self.sleep(seconds)

    def _backoff(self, attempt: int, minimum: float = 0.0) -> float:
        return max(minimum, min(600.0, self.backoff * 2**attempt)) * (0.75 + random.random() / 2)

    def _note_rate(self, resource: str, headers) -> None:
        remaining, reset = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset")
        resource = headers.get("X-RateLimit-Resource") or resource
        if remaining is not None and reset is not None and remaining.strip() == "0":
            with contextlib.suppress(ValueError):  # a malformed header is ignored
                self.reset_at[resource] = float(reset) + 1

    def get(self, path: str, params: dict | None = None) -> dict:
        url = self.api_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        resource = "search" if path.startswith("/search/") else "core"
        attempt = rate_waits = 0
        while True:
            if self.reset_at.get(resource, 0) > self.clock():
                self._wait(self.reset_at[resource] - self.clock(), f"{resource} rate limit resets")
                self.reset_at.pop(resource, None)
            self.requests += 1
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=self._headers()),
                                            timeout=self.timeout) as resp:
                    body = resp.read()
                    self._note_rate(resource, resp.headers)
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("response is not a JSON object")
                return data
            except urllib.error.HTTPError as exc:
                body = exc.read() if exc.fp is not None else b""
                self._note_rate(resource, exc.headers)
                message = _message(body)
                limited = exc.code == 429 or (exc.code == 403 and (
                    exc.headers.get("Retry-After") or exc.headers.get("X-RateLimit-Remaining") == "0"
                    or "rate limit" in message.lower()))
                if limited:
                    rate_waits += 1
                    if rate_waits > self.max_rate_waits:
                        raise RequestFailed(f"still rate limited after {self.max_rate_waits} waits: {url}") from exc
                    self._wait(self._rate_wait(exc.headers, resource, rate_waits), f"HTTP {exc.code} rate limited")
                    continue
                if exc.code == 401:
                    raise UserError("GitHub rejected the credentials: check GITHUB_TOKEN") from exc
                if exc.code < 500 and exc.code != 408:
                    raise HttpError(exc.code, url, message) from exc
                error = f"HTTP {exc.code}"
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}"  # connection refused/reset, timeout, bad JSON
            if attempt >= self.retries:
                raise RequestFailed(f"{error} after {self.retries + 1} attempts: {url}")
            self._wait(self._backoff(attempt), f"{error}, retry {attempt + 1}/{self.retries}")
            attempt += 1

    def _rate_wait(self, headers, resource: str, n: int) -> float:
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return float(retry_after)
            except ValueError:
                pass
        if resource in self.reset_at:
            wait = self.reset_at.pop(resource) - self.clock()
            if wait > 0:
                return wait
        return self._backoff(n - 1, minimum=60.0)  # secondary limit without hints: GitHub says wait >= 1 minute


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


# --- phase 1: search windows ---------------------------------------------------------------------------------

def _parse_date(text: str, end: bool) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"bad date {text!r}: use YYYY-MM-DD") from exc
    return dt.datetime.combine(day, dt.time(23, 59, 59) if end else dt.time(0, 0, 0))


def split_window(start: str, end: str) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """Halve an inclusive [start, end] window (second resolution); None when it is a single second."""
    a, b = dt.datetime.strptime(start, TIME_FMT), dt.datetime.strptime(end, TIME_FMT)
    if b <= a:
        return None
    mid = a + (b - a) // 2
    mid = mid.replace(microsecond=0)
    return (start, mid.strftime(TIME_FMT)), ((mid + dt.timedelta(seconds=1)).strftime(TIME_FMT), end)


def search(conn, client: Client, ingester: Ingester, query: str, created_from: str, created_to: str,
           max_repos: int | None, progress: bool) -> int:
    """Run every pending window of this query; returns the number of windows that failed (left for next run)."""
    start = _parse_date(created_from, end=False).strftime(TIME_FMT)
    end = _parse_date(created_to, end=True).strftime(TIME_FMT)
    if end < start:
        raise UserError(f"--created-to {created_to} is before --created-from {created_from}")
    with conn:
        conn.execute("INSERT OR IGNORE INTO windows (query, start, end) VALUES (?, ?, ?)", (query, start, end))
    failed: set[int] = set()
    incomplete: dict[tuple[int, int], int] = {}
    bar = tqdm(desc="search", unit="page", file=sys.stderr, disable=not progress)
    while True:
        found = conn.execute("SELECT COUNT(*) FROM repos WHERE source=?", (SOURCE,)).fetchone()[0]
        bar.set_postfix(repos=found, refresh=False)
        if max_repos is not None and found >= max_repos:
            break
        row = conn.execute(
            f"SELECT * FROM windows WHERE query=? AND status='pending' AND id NOT IN ({','.join('?' * len(failed))})"
            " ORDER BY start, id LIMIT 1", (query, *failed)).fetchone()
        if row is None:
            break
        q = f"{query} created:{row['start']}..{row['end']}"
        try:
            page = client.get("/search/repositories", {"q": q, "sort": "stars", "order": "desc",
                                                       "per_page": PER_PAGE, "page": row["next_page"]})
        except (HttpError, RequestFailed) as exc:
            if isinstance(exc, HttpError) and exc.status == 422:
                raise UserError(f"GitHub refused the search query {q!r}: {exc}") from exc
            _log(f"search window {row['start']}..{row['end']} failed ({exc}); it will be retried next run")
            failed.add(row["id"])
            continue
        bar.update(1)
        total = int(page.get("total_count", 0))
        if page.get("incomplete_results") and incomplete.get((row["id"], row["next_page"]), 0) < 2:
            incomplete[(row["id"], row["next_page"])] = incomplete.get((row["id"], row["next_page"]), 0) + 1
            continue  # GitHub timed out on its side: ask again for the full page
        if row["next_page"] == 1 and total >= SEARCH_CAP:
            halves = split_window(row["start"], row["end"])
            if halves is not None:
                with conn:
                    conn.executemany("INSERT OR IGNORE INTO windows (query, start, end) VALUES (?, ?, ?)",
                                     [(query, s, e) for s, e in halves])
                    conn.execute("UPDATE windows SET status='split', total=? WHERE id=?", (total, row["id"]))
                continue
        items = page.get("items") or []
        last = len(items) < PER_PAGE or row["next_page"] * PER_PAGE >= min(total, SEARCH_CAP)
        status = ("truncated" if total >= SEARCH_CAP else "done") if last else "pending"
        with conn:  # the page's repositories and the window's progress commit together
            for item in items:
                if not isinstance(item, dict) or not item.get("full_name"):
                    continue  # malformed item: nothing to crawl
                _insert_repo(conn, item, ingester.split_for(SOURCE, item["full_name"]))
            conn.execute("UPDATE windows SET status=?, total=?, next_page=? WHERE id=?",
                         (status, total, row["next_page"] + 1, row["id"]))
    bar.close()
    return len(failed)


def _license_of(item: dict) -> str | None:
    """SPDX id; 'NONE' when GitHub says there is no licence; None when the item does not say (ask /repos)."""
    if "license" not in item:
        return None
    lic = item["license"]
    return (lic or {}).get("spdx_id") or "NONE"


def _insert_repo(conn, item: dict, split: str) -> None:
    name = item["full_name"]
    if conn.execute("SELECT 1 FROM repos WHERE source=? AND root='' AND name=?", (SOURCE, name)).fetchone():
        return
    conn.execute("INSERT INTO repos (source, name, stars, license, default_branch, split) VALUES (?, ?, ?, ?, ?, ?)",
                 (SOURCE, name, item.get("stargazers_count"), _license_of(item), item.get("default_branch"), split))


def license_allowed(spdx_id: str | None, allowed) -> bool:
    """Exact (case-insensitive) SPDX id match: "GPL-3.0" is not allowed because "MIT" is, whatever it contains."""
    return bool(spdx_id) and spdx_id.lower() in {a.lower() for a in allowed}


# --- phases 2 and 3: repositories and blobs ------------------------------------------------------------------

class Crawler:
    def __init__(self, conn, client: Client, ingester: Ingester, licenses: list[str], progress: bool):
        self.conn, self.client, self.ingester, self.progress = conn, client, ingester, progress
        self.licenses = licenses
        self.counts: dict[str, int] = {}

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def run(self, max_repos: int | None) -> None:
        conn = self.conn
        limit = "" if max_repos is None else f"AND id IN (SELECT id FROM repos WHERE source='github' " \
                                             f"ORDER BY id LIMIT {int(max_repos)})"
        repos = conn.execute(
            f"SELECT * FROM repos WHERE source='github' {limit} AND (status IN ('pending', 'retry', 'listed') "
            "OR id IN (SELECT repo_id FROM files WHERE status IN ('pending', 'failed'))) ORDER BY id").fetchall()
        pending = conn.execute(f"SELECT COUNT(*) FROM files WHERE status IN ('pending', 'failed') AND repo_id IN "
                               f"(SELECT id FROM repos WHERE source='github' {limit})").fetchone()[0]
        self.repo_bar = tqdm(total=len(repos), desc="repos", unit="repo", file=sys.stderr, disable=not self.progress)
        self.blob_bar = tqdm(total=pending, desc="blobs", unit="blob", file=sys.stderr, position=1,
                             disable=not self.progress)
        for repo in repos:
            try:
                self._repo(repo)
            except (KeyboardInterrupt, UserError):
                raise
            except Exception as exc:  # a bad repository must never stop the crawl
                conn.rollback()
                with conn:
                    conn.execute("UPDATE repos SET status='retry', error=? WHERE id=?", (repr(exc)[:500], repo["id"]))
                _log(f"{repo['name']}: {exc!r}; it will be retried next run")
                self._count("repo_errors")
            self.repo_bar.update(1)
        self.repo_bar.close()
        self.blob_bar.close()

    def _repo(self, repo) -> None:
        conn, name = self.conn, repo["name"]
        if repo["status"] in ("pending", "retry"):
            if repo["license"] is None or not repo["default_branch"]:
                try:
                    info = self.client.get(f"/repos/{name}")
                except HttpError as exc:
                    return self._repo_failed(repo, exc)
                with conn:
                    conn.execute("UPDATE repos SET license=?, default_branch=?, stars=? WHERE id=?",
                                 (_license_of(info) or "NONE", info.get("default_branch"),
                                  info.get("stargazers_count", repo["stars"]), repo["id"]))
                repo = conn.execute("SELECT * FROM repos WHERE id=?", (repo["id"],)).fetchone()
            if not license_allowed(repo["license"], self.licenses):
                with conn:
                    conn.execute("UPDATE repos SET status='skipped_license' WHERE id=?", (repo["id"],))
                self._count("skipped_license")
                return
            try:
                entries = self._tree(name, repo["default_branch"])
            except HttpError as exc:
                return self._repo_failed(repo, exc)
            self._insert_files(repo, entries)
        for f in conn.execute("SELECT id, sha, path FROM files WHERE repo_id=? AND status IN ('pending', 'failed') "
                              "ORDER BY id", (repo["id"],)).fetchall():
            self._blob(name, f)
            self.blob_bar.update(1)
        with conn:
            conn.execute("UPDATE repos SET status='done' WHERE id=? AND status='listed'", (repo["id"],))

    def _repo_failed(self, repo, exc: HttpError) -> None:
        # 404 gone, 409 empty repository, 451 blocked: permanent, recorded once and not retried
        with self.conn:
            self.conn.execute("UPDATE repos SET status='failed', error=? WHERE id=?", (str(exc)[:500], repo["id"]))
        self._count(f"repo_http_{exc.status}")

    def _tree(self, name: str, branch: str) -> list[dict]:
        ref = urllib.parse.quote(branch, safe="")
        tree = self.client.get(f"/repos/{name}/git/trees/{ref}", {"recursive": "1"})
        if not tree.get("truncated"):
            return tree.get("tree", [])
        # Too big for one recursive listing: walk the subtrees one level at a time instead.
        entries, todo = [], [("", tree["sha"])]
        while todo:
            prefix, sha = todo.pop()
            for e in self.client.get(f"/repos/{name}/git/trees/{sha}").get("tree", []):
                e = dict(e, path=prefix + e["path"])
                if e["type"] == "tree":
                    todo.append((e["path"] + "/", e["sha"]))
                else:
                    entries.append(e)
        return entries

    def _insert_files(self, repo, entries: list[dict]) -> None:
        rows = []
        for e in entries:
            # blobs only: submodules are "commit" entries, symlinks have mode 120000
            if e.get("type") != "blob" or e.get("mode") == "120000" \
                    or not wanted(e["path"], self.ingester.opts.exclude):
                continue
            reason = self.ingester.size_reason(int(e.get("size", 0)))
            rows.append((repo["id"], e["path"], e["sha"], e.get("size"),
                         store.SKIPPED if reason else store.PENDING, reason))
        with self.conn:  # the listing and the repo's new status commit together
            self.conn.executemany("INSERT OR IGNORE INTO files (repo_id, path, sha, size, status, reason) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.conn.execute("UPDATE repos SET status='listed', error=NULL WHERE id=?", (repo["id"],))
        self.blob_bar.total += sum(1 for r in rows if r[4] == store.PENDING)
        self.blob_bar.refresh()

    def _blob(self, name: str, f) -> None:
        conn, ing = self.conn, self.ingester
        verdict = ing.sha_verdict(f["sha"], f["id"])
        if verdict is not None:  # same bytes already processed: no request at all
            with conn:
                ing.set_verdict(f["id"], *verdict)
            self._count(f"{verdict[0]}:{verdict[1]}")
            return
        try:
            blob = self.client.get(f"/repos/{name}/git/blobs/{f['sha']}")
            data = base64.b64decode(blob["content"]) if blob.get("encoding") == "base64" else \
                str(blob.get("content", "")).encode("utf-8")
        except HttpError as exc:
            with conn:
                ing.set_verdict(f["id"], store.SKIPPED, f"http_{exc.status}")
            self._count(f"skipped:http_{exc.status}")
            return
        except RequestFailed as exc:
            with conn:
                ing.set_verdict(f["id"], store.FAILED, str(exc)[:500])
            _log(f"{name}/{f['path']}: {exc}; it will be retried next run")
            self._count("failed")
            return
        except (KeyError, TypeError, ValueError):  # malformed blob response
            with conn:
                ing.set_verdict(f["id"], store.SKIPPED, "bad_blob")
            self._count("skipped:bad_blob")
            return
        with conn:  # fetched bytes and their verdict commit at once: a blob is never fetched twice
            status = ing.finish(f["id"], data, f["sha"], f["path"])
        self._count(status)


def crawl(db_path: str, client: Client, opts: Options, *, min_stars: int = 100, language: str = "Python",
          created_from: str = "2015-01-01", created_to: str | None = None, max_repos: int | None = None,
          licenses: list[str] | tuple[str, ...] = DEFAULT_LICENSES, progress: bool = True) -> dict[str, int]:
    """The whole crawl; returns counts of what this run did."""
    created_to = created_to or dt.date.today().isoformat()
    query = f"language:{language} stars:>={min_stars}"
    with store.writer_lock(db_path):
        conn = store.connect(db_path)
        try:
            ingester = Ingester(conn, opts)
            failed_windows = search(conn, client, ingester, query, created_from, created_to, max_repos, progress)
            crawler = Crawler(conn, client, ingester, list(licenses), progress)
            crawler.run(max_repos)
            counts = dict(crawler.counts, requests=client.requests, failed_windows=failed_windows)
        finally:
            conn.close()
    return counts
