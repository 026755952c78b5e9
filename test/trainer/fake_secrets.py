"""Fake secrets for the secret-scan tests, built from pieces at run time so that no test file holds anything a secret
scanner would flag: AWS key id and secret, GitHub token, a private-key block, hex and base64 high-entropy strings."""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits


def rand(rng: random.Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def planted(seed: int = 22) -> dict[str, tuple[str, str]]:
    """kind -> (the fake secret, Python lines that hold it)."""
    rng = random.Random(seed)
    aws_id = "AK" + "IA" + rand(rng, string.ascii_uppercase + string.digits, 16)
    aws_secret = rand(rng, ALNUM + "/+", 40)
    token = "gh" + "p_" + rand(rng, ALNUM, 36)
    dashes, pem = "-" * 5, "RSA " + "PRIVATE " + "KEY"
    body = "\n".join(rand(rng, ALNUM + "+/", 64) for _ in range(8))
    hex_digest = rand(rng, "0123456789abcdef", 40)
    blob = rand(rng, ALNUM + "+/", 44)
    return {
        "aws_access_key": (aws_id, f'DEPLOY_USER = "{aws_id}"\n'),
        "aws_secret": (aws_secret, f'aws_secret_access_key = "{aws_secret}"\n'),
        "github_token": (token, f'HEADERS = {{"Authorization": "token {token}"}}\n'),
        "private_key": (body, f'KEY = """{dashes}BEGIN {pem}{dashes}\n{body}\n{dashes}END {pem}{dashes}\n"""\n'),
        "hex_entropy": (hex_digest, f'EXPECTED = "{hex_digest}"\n'),
        "base64_entropy": (blob, f'PAYLOAD = "{blob}"\n'),
    }
