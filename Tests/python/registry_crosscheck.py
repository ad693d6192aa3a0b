"""An independent implementation of Ferry's registry signatures (DSSE envelopes, Ed25519 via
Python's `cryptography`), for the end-to-end tests:

  verify INDEX PUB              check ferry's signature; print module_id and index version
  expire INDEX KEY OUT          re-sign INDEX's payload, expired in 2001 (a freeze)
  traversal INDEX KEY REGISTRY VERSION
                                replace VERSION's archives with ones holding ../evil.so,
                                fix their sha256/size in the index and sign it again

Keys are the PEM files `ferry module keygen` writes.
"""
import base64
import hashlib
import io
import json
import sys
import tarfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

PAYLOAD_TYPE = "application/vnd.ferry.module-index+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def key_id(public_key) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load(path):
    with open(path) as f:
        return json.load(f)


def sign(payload: dict, key_path: str, out: str):
    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    body = json.dumps(payload, indent=2, sort_keys=True).encode()
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, body))).decode()}],
    }
    with open(out, "w") as f:
        json.dump(envelope, f, indent=2)


def main(argv):
    verb = argv[1]
    if verb == "verify":
        envelope = load(argv[2])
        with open(argv[3], "rb") as f:
            public = serialization.load_pem_public_key(f.read())
        payload = base64.b64decode(envelope["payload"])
        assert envelope["payloadType"] == PAYLOAD_TYPE, envelope["payloadType"]
        for signature in envelope["signatures"]:
            assert signature["keyid"] == key_id(public), (signature["keyid"], key_id(public))
            try:
                public.verify(base64.b64decode(signature["sig"]), pae(envelope["payloadType"], payload))
            except InvalidSignature:
                print("INVALID signature")
                return 1
        index = json.loads(payload)
        print("valid", index["module_id"], index["version"])
        return 0
    if verb == "expire":
        payload = json.loads(base64.b64decode(load(argv[2])["payload"]))
        payload["expires"] = "2001-01-01T00:00:00Z"
        payload["version"] += 1
        sign(payload, argv[3], argv[4])
        return 0
    if verb == "traversal":
        index_path, key_path, registry, version = argv[2:6]
        payload = json.loads(base64.b64decode(load(index_path)["payload"]))
        for release in payload["versions"]:
            if release["version"] != version:
                continue
            for archive in release["archives"].values():
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
                    for name in (archive["entrypoint"], "../evil.so"):
                        info = tarfile.TarInfo(name)
                        data = b"not a plugin"
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
                data = buffer.getvalue()
                with open(registry + "/" + archive["path"], "wb") as f:
                    f.write(data)
                archive["sha256"] = hashlib.sha256(data).hexdigest()
                archive["size"] = len(data)
        payload["version"] += 1
        sign(payload, key_path, index_path)
        return 0
    print("unknown verb", verb)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
