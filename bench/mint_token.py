"""Writes a JWKS with one RS256 key and prints a token signed with it, for bench/run.sh's JWT runs.

Usage: mint_token.py JWKS_PATH ISSUER AUDIENCE
"""
import base64
import json
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def integer(value):
    return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


path, issuer, audience = sys.argv[1:4]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
numbers = key.public_key().public_numbers()
with open(path, "w") as jwks:
    json.dump({"keys": [{"kty": "RSA", "kid": "bench-1", "alg": "RS256", "use": "sig", "n": integer(numbers.n), "e": integer(numbers.e)}]}, jwks)
now = int(time.time())
header = b64(json.dumps({"alg": "RS256", "kid": "bench-1", "typ": "JWT"}).encode())
claims = b64(json.dumps({
    "iss": issuer, "sub": "bench-user", "aud": audience, "client_id": "bench-client", "scope": "agents:invoke",
    "iat": now, "exp": now + 86400,
}).encode())
signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
print(f"{header}.{claims}.{b64(signature)}")
