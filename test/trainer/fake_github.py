"""A local stand-in for the GitHub REST API (stdlib http.server in a thread), for the corpus crawl tests.

Serves search/repositories (with the 1,000-result cap and `created:` ranges), repos/{o}/{r}, git/trees (recursive),
git/blobs/{sha} in the response shapes of api.github.com, with X-RateLimit-* headers. Faults are scripted per path
prefix (403 secondary limit with Retry-After, 500, ...). `served` logs each response after it was fully written;
`stall_blob_at` makes the n-th blob request hang (never answered) so a test can kill the client at that moment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    full_name: str
    created: str  # YYYY-MM-DDTHH:MM:SSZ
    stars: int = 150
    license: str | None = "MIT"  # SPDX id, None = no licence
    license_in_search: bool = True  # False: the search item has no "license" key (client must ask /repos)
    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target (mode 120000 entries)
    branch: str = "main"


class FakeGitHub:
    def __init__(self, repos: list[Repo], quota: int | None = None, blob_delay: float = 0.0):
        self.repos = {r.full_name: r for r in repos}
        self.blobs = {blob_sha(d): d for r in repos for d in r.files.values()}
        self.served: list[tuple[str, int]] = []  # (path, status) of every fully written response; faults < 0
        self.faults: list[list] = []  # [path prefix, status, headers, body, times left]
        self.auth: list[str | None] = []
        self.quota, self.remaining = quota, quota
        self.blob_delay = blob_delay
        self.stall_blob_at: int | None = None
        self.stalled, self.release = threading.Event(), threading.Event()
        self._blob_requests = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def fault(self, prefix: str, status: int, headers: dict | None = None, body: dict | None = None, times: int = 1):
        self.faults.append([prefix, status, headers or {}, body or {"message": "fault"}, times])

    def blob_fetches(self) -> dict[str, int]:
        """sha -> number of successful (200) blob responses."""
        out: dict[str, int] = {}
        for path, status in self.served:
            if "/git/blobs/" in path and status == 200:
                sha = path.rsplit("/", 1)[1]
                out[sha] = out.get(sha, 0) + 1
        return out

    # --- responses ---

    def _route(self, path: str, query: dict) -> tuple[int, dict]:
        if path == "/search/repositories":
            return self._search(query)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/git/(trees|blobs)/(.+))?", path)
        if not m or m.group(1) not in self.repos:
            return 404, {"message": "Not Found"}
        repo = self.repos[m.group(1)]
        if m.group(2) is None:
            return 200, self._repo_json(repo, full=True)
        if m.group(3) == "trees":
            if urllib.parse.unquote(m.group(4)) != repo.branch:
                return 404, {"message": "Not Found"}
            return 200, self._tree(repo)
        data = self.blobs.get(m.group(4))
        if data is None:
            return 404, {"message": "Not Found"}
        return 200, {"sha": m.group(4), "size": len(data), "encoding": "base64",
                     "content": base64.encodebytes(data).decode()}  # GitHub wraps base64 in lines too

    def _repo_json(self, repo: Repo, full: bool) -> dict:
        item = {"full_name": repo.full_name, "stargazers_count": repo.stars, "default_branch": repo.branch,
                "created_at": repo.created, "fork": False}
        if full or repo.license_in_search:
            item["license"] = {"spdx_id": repo.license, "key": (repo.license or "").lower()} if repo.license else None
        return item

    def _search(self, query: dict) -> tuple[int, dict]:
        q = query.get("q", [""])[0]
        stars = int(re.search(r"stars:>=(\d+)", q).group(1))
        lo, hi = re.search(r"created:(\S+)\.\.(\S+)", q).groups()
        page, per_page = int(query.get("page", ["1"])[0]), int(query.get("per_page", ["30"])[0])
        hits = sorted((r for r in self.repos.values() if r.stars >= stars and lo <= r.created <= hi),
                      key=lambda r: (-r.stars, r.full_name))
        if page * per_page > 1000:
            return 422, {"message": "Only the first 1000 search results are available"}
        items = [self._repo_json(r, full=False) for r in hits[(page - 1) * per_page:page * per_page]]
        return 200, {"total_count": len(hits), "incomplete_results": False, "items": items}

    def _tree(self, repo: Repo) -> dict:
        entries, dirs = [], set()
        for path, data in repo.files.items():
            parts = path.split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": blob_sha(data), "size": len(data)})
        for path, target in repo.symlinks.items():
            entries.append({"path": path, "mode": "120000", "type": "blob", "sha": blob_sha(target.encode()),
                            "size": len(target)})
        entries += [{"path": d, "mode": "040000", "type": "tree", "sha": hashlib.sha1(d.encode()).hexdigest()}
                    for d in sorted(dirs)]
        entries.append({"path": "vendor/lib", "mode": "160000", "type": "commit", "sha": "0" * 40})
        return {"sha": "f" * 40, "truncated": False, "tree": entries}

    def _handler(self):
        gh = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                path, query = url.path, urllib.parse.parse_qs(url.query)
                gh.auth.append(self.headers.get("Authorization"))
                assert self.headers.get("Accept") == "application/vnd.github+json"
                assert self.headers.get("X-GitHub-Api-Version")
                if "/git/blobs/" in path:
                    with gh._lock:
                        gh._blob_requests += 1
                        stall = gh._blob_requests == gh.stall_blob_at
                    time.sleep(gh.blob_delay)
                    if stall:
                        gh.stalled.set()
                        gh.release.wait(60)
                        gh.served.append((path, -1))  # never answered
                        return
                headers = {}
                with gh._lock:
                    fault = next((f for f in gh.faults if path.startswith(f[0]) and f[4] > 0), None)
                    if fault:
                        fault[4] -= 1
                    if gh.quota is not None:
                        gh.remaining -= 1
                        headers = {"X-RateLimit-Limit": str(gh.quota), "X-RateLimit-Remaining": str(gh.remaining),
                                   "X-RateLimit-Reset": str(int(time.time()) + 30),
                                   "X-RateLimit-Resource": "search" if path.startswith("/search/") else "core"}
                        if gh.remaining <= 0:
                            gh.remaining = gh.quota  # refilled for the next request: the client must have waited
                if fault and fault[1] == 0:  # status 0: drop the connection without answering
                    gh.served.append((path, 0))
                    self.close_connection = True
                    return
                if fault:
                    status, body = fault[1], fault[3]
                    headers.update(fault[2])
                else:
                    status, body = gh._route(path, query)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                gh.served.append((path, -status if fault else status))  # faults logged negative

        return Handler


def pyfile(seed: int, funcs: int = 16) -> bytes:
    """A distinct, plausible Python module of about 1.5 KiB (no two seeds are near-duplicates)."""
    import random
    import string

    rng = random.Random(seed)
    lines = [f'"""Module number {seed}."""', "import os", ""]
    for i in range(funcs):
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(8))
        a, b, c = rng.randint(0, 9999), rng.randint(0, 9999), rng.choice(["x", "y", "os.sep", "len(x)"])
        lines += [f"def {name}_{i}(x, y={a}):", f"    # offset {b}", f"    return x * {a} + y - {b} + {c}", ""]
    return "\n".join(lines).encode()
