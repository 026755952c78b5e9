"""Secrets in code (API keys, tokens, private keys, high-entropy strings), found with detect-secrets (Yelp; pinned in
requirements.txt).

A model trained on scraped code can learn and suggest the secrets in it. Every file goes through `find_secrets` at
ingestion (ingest.Ingester.finish, shared by the GitHub crawl and add-dir) and a file with any finding is skipped whole,
reason "secret", rather than redacted: a finding marks a file that holds secret material, which can reach past the
flagged string (the body of a private key under its BEGIN line, the secret half of a key pair next to its id), so
cutting out what was flagged would leave the rest in the corpus. The memorisation check uses it on completions.

Speed: detect-secrets runs every plugin and filter on every line (about 16 files/s on this machine). Here each plugin
first gets a whole-text regex that matches wherever it could report: its own denylist (made multi-line), for the
keyword plugin its keywords, for the entropy plugins quoted strings long enough to pass the entropy limit (a string of
n characters has at most log2(n) bits). Only the lines those touch go through the library's own line scan and filters,
with only the plugins that matched there, so the findings are the library's (test_corpus_secrets checks this against
the plain line-by-line scan).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
from typing import NamedTuple

from trainer.errors import UserError

# Public IP addresses are not secrets, and networking code is full of them.
LEFT_OUT = {"IPPublicDetector"}


class Finding(NamedTuple):
    line: int  # 1-based
    kind: str  # the plugin's secret type, e.g. "AWS Access Key"


# --- Literals every match of a regex contains, read from its parse tree (re._parser, as re itself does). ---------
_CAP = 64  # largest set of alternative strings followed


def _node(op, av) -> tuple[set[str] | None, set[str] | None]:
    """(exact, required) for one parsed item: `exact` every string it can match (a small finite set), `required`
    strings one of which every match contains; None where unknown."""
    name = str(op)
    if name == "LITERAL":
        return {chr(av)}, None
    if name in ("AT", "ASSERT", "ASSERT_NOT"):
        return {""}, None  # zero width: consumes nothing
    if name == "SUBPATTERN":
        return _seq(av[-1])
    if name == "ATOMIC_GROUP":
        return _seq(av)
    if name == "BRANCH":
        parts = [_seq(alt) for alt in av[1]]
        exact = None if any(e is None for e, _ in parts) else set().union(*(e for e, _ in parts))
        reqs = [r if r is not None else e for e, r in parts]
        req = None if any(r is None or "" in r for r in reqs) else set().union(*reqs)
        small = lambda x: x if x is not None and len(x) <= _CAP else None  # noqa: E731
        return small(exact), small(req)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        lo, hi, body = av
        if lo == 0:
            return ({""} if hi == 0 else None), None
        e, r = _seq(body)
        return (e if lo == hi == 1 else None), (r if r is not None else (e if e and "" not in e else None))
    return None, None  # classes, any char, back-references: no literal


def _seq(items) -> tuple[set[str] | None, set[str] | None]:
    run, broken, candidates = {""}, False, []
    for op, av in items:
        e, r = _node(op, av)
        if r is not None:
            candidates.append(r)
        if e is not None and len(run) * len(e) <= _CAP:
            run = {a + b for a in run for b in e}  # adjacent exact items make longer literals
        else:
            candidates.append(run)
            run, broken = {""}, True
    candidates.append(run)
    good = [c for c in candidates if c and "" not in c]
    best = max(good, key=lambda c: (min(map(len, c)), -len(c)), default=None)
    return (None if broken else run), best


def required_literals(rx: re.Pattern) -> list[str] | None:
    """Strings one of which every match of `rx` contains (casefolded under IGNORECASE), or None."""
    from re import _parser

    _, best = _seq(_parser.parse(rx.pattern, rx.flags))
    if not best:
        return None
    lits = {s.lower() for s in best} if rx.flags & re.IGNORECASE else best
    return sorted(s for s in lits if not any(t != s and t in s for t in lits))  # "pass" finds "password" too


# Non-ASCII characters that IGNORECASE matches to ASCII letters (Kelvin sign, long s, dotted/dotless i): folded first
# so that a case-insensitive literal search finds them too.
_FOLD = str.maketrans({"\u212a": "k", "\u017f": "s", "\u0130": "i", "\u0131": "i"})


class _Trigger(NamedTuple):
    line_rx: re.Pattern  # the plugin's regex, run on single lines as the plugin runs it
    text_rx: re.Pattern  # the same over the whole text (multi-line): a superset of the lines line_rx matches
    literals: list[str] | None  # searched first when given: only lines that hold one are run through line_rx
    folded: bool


def _trigger(rx: re.Pattern) -> _Trigger:
    lits = required_literals(rx)
    if lits and min(map(len, lits)) < 2:
        lits = None  # one character (":" or ".") is on most lines: the whole-text regex is faster
    return _Trigger(rx, re.compile(rx.pattern, rx.flags | re.MULTILINE), lits, bool(rx.flags & re.IGNORECASE))


def _triggers(plugin) -> list[_Trigger] | None:
    """What matches every line where `plugin` could report; None = every line."""
    from detect_secrets.plugins import keyword
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

    if isinstance(plugin, RegexBasedDetector):
        return [_trigger(r) for r in plugin.denylist]
    if isinstance(plugin, HighEntropyStringsPlugin):
        shortest = math.floor(2 ** plugin.entropy_limit) + 1  # entropy <= log2(length) must exceed the limit
        charset = re.escape(plugin.charset)
        return [_trigger(re.compile(r"(['\"])([" + charset + "]{" + str(shortest) + r",})\1"))]
    if isinstance(plugin, keyword.KeywordDetector):
        return [_trigger(re.compile(keyword.DENYLIST_REGEX, re.IGNORECASE))]
    return None  # a plugin type this module does not know: scan every line with it


def require() -> None:
    """A clear error, not an ImportError from deep in an ingestion, where the library is missing."""
    try:
        import detect_secrets  # noqa: F401
    except ImportError:
        raise UserError("the secret scan needs detect-secrets (pinned in requirements.txt): run `.venv/bin/pip install "
                        "-r requirements.txt`; on a machine without network, install its wheel (pure Python)") from None


@functools.cache
def _detectors() -> list[tuple[object, list[_Trigger] | None]]:
    require()
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes = sorted(get_mapping_from_secret_type_to_class().values(), key=lambda c: c.__name__)
    plugins = [cls() for cls in classes if cls.__name__ not in LEFT_OUT]
    return [(p, _triggers(p)) for p in plugins]


def plugin_names() -> list[str]:
    return [type(p).__name__ for p, _ in _detectors()]


class _Text:
    def __init__(self, text: str):
        self.text = text
        self.lines = text.split("\n")
        self.starts = list(itertools.accumulate((len(line) + 1 for line in self.lines[:-1]), initial=0))
        folded = text.translate(_FOLD).lower() if not text.isascii() else text.lower()
        self.folded = folded if len(folded) == len(text) else None  # None: lower() changed lengths
        self.found: dict[tuple[str, bool], set[int]] = {}  # (literal, folded) -> lines: plugins share literals

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def holding(self, literal: str, haystack: str, folded: bool) -> set[int]:
        key = (literal, folded)
        if key not in self.found:
            lines, at, n = set(), haystack.find(literal), len(self.starts)
            while at >= 0:
                i = self.line_of(at)
                lines.add(i)
                at = haystack.find(literal, self.starts[i + 1]) if i + 1 < n else -1  # on to the next line
            self.found[key] = lines
        return self.found[key]

    def lines_of(self, t: _Trigger) -> set[int]:
        haystack = self.folded if t.folded else self.text
        if t.literals is not None and haystack is not None:
            near = set().union(*(self.holding(lit, haystack, t.folded) for lit in t.literals))
            return {i for i in near if t.line_rx.search(self.lines[i].rstrip())}
        hit: set[int] = set()
        for m in t.text_rx.finditer(self.text):
            # every line a match spans: one that starts at the previous line's end marks its own line too
            hit.update(range(self.line_of(m.start()), self.line_of(max(m.start(), m.end() - 1)) + 1))
        return hit


def _candidates(text: str) -> dict[int, list]:
    """0-based line -> the plugins whose trigger touches it (in plugin order)."""
    doc = _Text(text)
    lines: dict[int, list] = {}
    for plugin, triggers in _detectors():
        hit = set(range(len(doc.lines))) if triggers is None else set().union(*(doc.lines_of(t) for t in triggers))
        for i in hit:
            lines.setdefault(i, []).append(plugin)
    return lines


def find_secrets(text: str, filename: str = "file.py", first_only: bool = False) -> list[Finding]:
    """detect-secrets' findings in `text`. `filename` picks the file type rules (the keyword plugin's per-language
    patterns); `first_only` stops at the first finding (enough to skip a file)."""
    # The library's line scan and filters (detect_secrets.core.scan, private helpers: the version is pinned).
    from detect_secrets.core import scan
    from detect_secrets.util.code_snippet import get_code_snippet

    raw = text.split("\n")
    found: list[Finding] = []
    for i, plugins in sorted(_candidates(text).items()):
        line = raw[i].rstrip()
        context = get_code_snippet(raw, i + 1)
        if scan._is_filtered_out(required_filter_parameters=["line"], filename=filename, line=line, context=context):
            continue  # e.g. a `pragma: allowlist secret` comment
        for plugin in plugins:
            for secret in scan._scan_line(plugin=plugin, filename=filename, line=line, line_number=i + 1,
                                          context=context):
                if scan._is_filtered_out(required_filter_parameters=["context"], filename=filename,
                                         secret=secret.secret_value, plugin=plugin, line=line, context=context):
                    continue
                found.append(Finding(i + 1, secret.type))
                if first_only:
                    return found
    return found


def find_secrets_slow(text: str, filename: str = "file.py") -> list[Finding]:
    """The library's plain line-by-line scan with the same plugins: the reference `find_secrets` must equal."""
    from detect_secrets.core import scan
    from detect_secrets.settings import transient_settings

    lines = list(enumerate(text.split("\n"), 1))
    with transient_settings({"plugins_used": [{"name": n} for n in plugin_names()]}):
        return [Finding(s.line_number, s.type) for s in scan._process_line_based_plugins(lines, filename)]


# Marks a corpus database whose kept files have all been scanned (every file since this scan existed, or a rescan).
MARK = "secret_scan"


def mark_value() -> str:
    from importlib.metadata import version

    return f"detect-secrets {version('detect-secrets')}"


def is_marked(conn) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key=?", (MARK,)).fetchone() is not None


def scan_unmarked(conn) -> int:
    """For a database from before the scan: skips its kept files that hold secrets, then marks it. Returns how many
    were skipped. Commits."""
    require()
    if is_marked(conn):
        return 0
    hits = [row[0] for row in conn.execute("SELECT id, path, text FROM files WHERE status='kept'")
            if find_secrets(row[2], row[1], first_only=True)]
    with conn:
        conn.executemany("UPDATE files SET status='skipped', reason='secret', text=NULL, text_hash=NULL WHERE id=?",
                         [(i,) for i in hits])
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (MARK, mark_value()))
    return len(hits)
