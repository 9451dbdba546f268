"""Schemathesis hooks for tests/openapi/run.sh: who the requests are made as, and the one rule of
the document that JSON Schema cannot state (a new password's 8 to 72 bytes, an upload's real
content type).

Two identities, each logged in with a bearer token and re-created when the run deletes it (the
API lets a user delete itself, and an admin anyone): a client for the operations only clients do
(opening threads and writing in them), an admin for everything else. A 401 on a request that
carried a token makes Schemathesis fetch a fresh one and replay the request (`retry_on`), so a
log-out, a deletion or a log-in lockout mid-run does not turn the rest of the run into 401s.
"""

import base64
import os
import subprocess
import threading

import requests
import schemathesis
from hypothesis import strategies as st

BASE_URL = os.environ["OPENAPI_BASE_URL"]
SERVER_BIN = os.environ["OPENAPI_SERVER_BIN"]
PASSWORD = os.environ["OPENAPI_PASSWORD"]
ADMIN = os.environ["OPENAPI_ADMIN"]

# Operations only a client can do; everything else runs as the admin.
CLIENT_OPERATIONS = {
    ("POST", "/api/v1/threads"),
    ("POST", "/api/v1/threads/{id}/messages"),
    ("POST", "/api/v1/threads/{id}/read"),
}


class Identity:
    """A user of one role whose token is fetched on demand and who is re-created if deleted."""

    def __init__(self, role, username):
        self.role = role
        self.username = username
        self.generation = 0
        self.lock = threading.Lock()

    def log_in(self):
        return requests.post(
            f"{BASE_URL}/api/v1/sessions",
            json={"username": self.username, "password": PASSWORD},
            timeout=10,
        )

    def create(self):
        self.generation += 1
        self.username = f"openapi_{self.role}_{os.getpid()}_{self.generation}"
        if self.role == "admin":
            # As the run script created the first one: the CLI, on the same store.
            subprocess.run(
                [SERVER_BIN, "create-admin", "--username", self.username, "--password", PASSWORD],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            answer = requests.post(
                f"{BASE_URL}/api/v1/users",
                json={"username": self.username, "password": PASSWORD},
                timeout=10,
            )
            answer.raise_for_status()

    def token(self):
        with self.lock:
            if self.username is None:
                self.create()
            answer = self.log_in()
            if answer.status_code in (401, 429):
                # Deleted by the run, or locked out because the run's stateful phase fed this
                # username (read from a response) to failing log-ins: a new one.
                self.create()
                answer = self.log_in()
            answer.raise_for_status()
            return answer.json()["token"]


ADMIN_IDENTITY = Identity("admin", ADMIN)
CLIENT_IDENTITY = Identity("client", None)


def is_client_operation(ctx):
    return (ctx.operation.method.upper(), ctx.operation.path) in CLIENT_OPERATIONS


class BearerAuth:
    identity = None

    def get(self, case, context):
        return self.identity.token()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=600, retry_on=[401]).apply_to(is_client_operation)
class ClientAuth(BearerAuth):
    identity = CLIENT_IDENTITY


@schemathesis.auth(refresh_interval=600, retry_on=[401]).skip_for(is_client_operation)
class AdminAuth(BearerAuth):
    identity = ADMIN_IDENTITY


# A new password is 8 to 72 bytes of UTF-8 (bcrypt's limit), which JSON Schema cannot count: the
# document states the character bounds those bytes imply and `format: password`. Valid values for
# it are drawn here: printable text without control characters, kept to 8..72 bytes.
_PASSWORD_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"),
    blacklist_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
schemathesis.openapi.format(
    "password",
    st.text(_PASSWORD_CHARS, min_size=2, max_size=72).filter(
        lambda text: 8 <= len(text.encode()) <= 72
    ),
)

# A webhook's URL (`format: webhook-url`): the server refuses private, loopback and link-local
# targets, which no JSON Schema can state; valid values are public https URLs (registering one
# sends nothing until an event happens, and then only to a name under example.com).
schemathesis.openapi.format(
    "webhook-url",
    st.builds(
        lambda host, path: f"https://{host}.example.com/{path}",
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
        st.from_regex(r"[a-z0-9/_-]{0,30}", fullmatch=True),
    ),
)

# An upload's content must really be of an accepted type (the server reads the type from the
# bytes, which JSON Schema cannot state): the document lists the accepted media types as the
# `file` part's `encoding`, and valid files of some of them are drawn here.
_PNG_8X8 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGO4YGCAFTEMLQkA2ntMAeuWKpoAAAAASUVORK5CYII="
)
schemathesis.openapi.media_type("image/png", st.just(_PNG_8X8))
schemathesis.openapi.media_type("application/pdf", st.just(b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"))
schemathesis.openapi.media_type("text/plain", st.sampled_from([b"steps to reproduce\n", b"caf\xc3\xa9 receipt 42"]))
