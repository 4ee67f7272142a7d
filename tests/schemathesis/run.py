"""Schemathesis against a field hub and an office hub (issue 22): sets both up as the tests do, then runs
`schemathesis run` against each hub's OpenAPI document with a logged-in admin session and its CSRF token.

Run through run.sh (it makes the virtualenv); see run.sh for the modes. The setup, in one temporary
directory:
- `hub init` of an office and a field data directory, paired by files both ways (`hub key show` →
  `hub trust`), an admin on each (`hub user add`, the field admin's password protects its data);
- both hubs served on loopback (`--listen 127.0.0.1:0 --mdns loopback --https-listen off`);
- on the field hub, two certificate-of-marital-status dossiers captured, photographed and sealed through the
  API; `hub batch export` on the field, `hub batch import` on the office, so both hubs have receipts, cases
  and envelopes for the fuzzer to find;
- one admin login per hub: the session cookie and the CSRF token go on every request (`-H`).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "../.."))
SESSION_COOKIE = "__Host-hub_session"  # hub/src/shared/auth/mod.rs SESSION_COOKIE
CSRF_HEADER = "X-CSRF-Token"  # hub/src/shared/auth/mod.rs CSRF_HEADER, as client-web/lib.js sends it
OPENAPI = "/api/v1/openapi.json"  # hub/src/app/openapi.rs
ADMIN = ("quantri", "mat-khau-quan-tri")
OFFICE_ADMIN = ("quantri", "mat-khau-van-phong")

# Operations left out of the run, each with its reason. Nothing else is excluded: every other operation of
# both documents is fuzzed with all of Schemathesis's default checks. Each must name an operation of the
# field or the office document (checked before the run).
EXCLUDED = [
    # Endless Server-Sent Events streams: Schemathesis 4 reads their first event and checks the event object
    # ({event, data}) against the response schema, which the document gives as the stream's text (`string`).
    # Their events are checked by the integration and browser tests (board, uploader).
    ("GET /api/v1/board/events", "an endless SSE stream"),
    ("GET /api/v1/upload/events", "an endless SSE stream"),
    # Ends the very session every other case runs with: the rest of the run would only see 401s.
    ("POST /api/v1/logout", "ends the run's own session"),
    # "Log out everywhere": ends the run's own session, as logout does.
    ("DELETE /api/v1/users/me/sessions", "ends the run's own session"),
    # Ends every session of the user named by id; the stateful phase follows GET /api/v1/users to the run's
    # own admin id, which ends the run's session.
    ("DELETE /api/v1/users/{id}/sessions", "ends the run's own session (its id is listed by GET /api/v1/users)"),
]


def log(msg):
    print(f"[schemathesis] {msg}", flush=True)


def cli(hub_bin, args, env=None, check=True):
    e = dict(os.environ, HUB_LOG="warn", NO_COLOR="1")
    e.update(env or {})
    r = subprocess.run([hub_bin, *args], env=e, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"hub {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


class Hub:
    """A `hub serve` process on a free loopback port (the hub binds port 0 and names it in its banner)."""

    def __init__(self, hub_bin, mode, data, log_path):
        self.mode = mode
        self.log_path = log_path
        self.log_file = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [hub_bin, "serve", "--mode", mode, "--data", data, "--listen", "127.0.0.1:0",
             "--mdns", "loopback", "--https-listen", "off"],
            stdout=subprocess.PIPE, stderr=self.log_file,
            env=dict(os.environ, HUB_LOG="warn", NO_COLOR="1"),
            start_new_session=True,
        )
        self.base = None
        found = threading.Event()

        def read():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace")
                self.log_file.write(raw)
                m = re.match(r"\s*http://127\.0\.0\.1:(\d+)/?\s*$", line)
                if m and self.base is None:
                    self.base = f"http://127.0.0.1:{m.group(1)}"
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the {mode} hub exited ({self.proc.returncode}); its log: {log_path}")
            if found.wait(0.2):
                try:
                    with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
        sys.exit(f"the {mode} hub was not healthy within 60 s; its log: {log_path}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


class Session:
    """A logged-in user: the session cookie and the CSRF token, sent by hand (the `__Host-` cookie is
    `Secure`, which a cookie jar keeps off plain-HTTP loopback)."""

    def __init__(self, base, name, password):
        self.base = base
        status, body, headers = self.request("POST", "/api/v1/login", {"name": name, "password": password})
        if status != 200:
            sys.exit(f"login as {name} on {base}: {status} {body}")
        cookie = next((c for c in headers.get_all("Set-Cookie") or [] if c.startswith(SESSION_COOKIE + "=")), None)
        if cookie is None:
            sys.exit(f"login as {name} on {base} set no {SESSION_COOKIE} cookie")
        self.cookie = cookie.split(";")[0]
        self.csrf = body["csrf_token"]

    def request(self, method, path, body=None, raw=None, content_type=None):
        headers = {}
        if getattr(self, "cookie", None):
            headers["Cookie"] = self.cookie
            headers[CSRF_HEADER] = self.csrf
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif raw is not None:
            data, headers["Content-Type"] = raw, content_type
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                text = r.read()
                status, hdrs = r.status, r.headers
        except urllib.error.HTTPError as e:
            text, status, hdrs = e.read(), e.code, e.headers
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return status, parsed, hdrs

    def ok(self, method, path, body=None, expect=(200, 201), **kw):
        status, parsed, _ = self.request(method, path, body, **kw)
        if status not in expect:
            sys.exit(f"{method} {path}: {status} {parsed}")
        return parsed


def marital_fields(subject, pin):
    """A complete, valid certificate-of-marital-status request (as tests/common/mod.rs `marital_fields`)."""
    return {
        "addressee.commune": "Ủy ban nhân dân xã Bù Gia Mập",
        "requester.full_name": subject,
        "requester.residence": "Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai",
        "requester.id_type": "can_cuoc",
        "requester.pin": pin,
        "requester.id_issuer": "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        "requester.id_issue_date": "2021-04-15",
        "requester.relationship": "self",
        "subject.full_name": subject,
        "subject.date_of_birth": "1998-03-12",
        "subject.sex": "female",
        "subject.ethnicity": "Xtiêng",
        "subject.nationality": "Việt Nam",
        "subject.residence": "Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai",
        "subject.id_type": "can_cuoc",
        "subject.pin": pin,
        "subject.marital_status": "never_married",
        "request.purpose": "Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội",
        "declaration.confirmed": "yes",
    }


def multipart(fields, file_field, file_name, data, mime):
    boundary = "----schemathesis-seed-boundary"
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
            f"Content-Type: {mime}\r\n\r\n").encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def photo_bytes(tmp):
    """A photo of a paper: the shared sample when ../shared/data is there, else one drawn with ImageMagick."""
    sample = os.path.join(REPO, "../shared/data/photos/to-khai-xac-nhan-hon-nhan.jpg")
    if os.path.exists(sample):
        with open(sample, "rb") as f:
            return f.read()
    path = os.path.join(tmp, "paper.jpg")
    subprocess.run(["convert", "-size", "1200x900", "xc:white", "-fill", "black", "-pointsize", "40",
                    "-annotate", "+80+200", "TỜ KHAI XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", path], check=True)
    with open(path, "rb") as f:
        return f.read()


def seal_dossier(s, subject, pin, photo):
    draft = s.ok("POST", "/api/v1/drafts",
                 {"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}})
    did = draft["id"]
    s.ok("PUT", f"/api/v1/drafts/{did}", {"fields": marital_fields(subject, pin), "version": draft["version"]})
    raw, ct = multipart({"role": "id_document"}, "file", "giay-to.jpg", photo, "image/jpeg")
    s.ok("POST", f"/api/v1/drafts/{did}/attachments", raw=raw, content_type=ct)
    return s.ok("POST", f"/api/v1/drafts/{did}/seal", {})


def schemathesis(venv, hub, session, args, report_dir, label):
    cmd = [os.path.join(venv, "bin", "schemathesis"), "--config-file", os.path.join(HERE, "schemathesis.toml"),
           "run", hub.base + OPENAPI,
           "-H", f"Cookie: {session.cookie}", "-H", f"{CSRF_HEADER}: {session.csrf}",
           "--generation-with-security-parameters", "false",
           "--report", "junit,ndjson", "--report-dir", report_dir,
           "--report-junit-path", os.path.join(report_dir, f"{label}.junit.xml"),
           "--report-ndjson-path", os.path.join(report_dir, f"{label}.ndjson"),
           "--no-color", *args]
    cmd += exclusion_args()
    log(f"{label} hub: schemathesis run {hub.base}{OPENAPI}")
    t0 = time.time()
    # In the report directory: Schemathesis keeps a cache (.schemathesis/) in its working directory.
    r = subprocess.run(cmd, cwd=report_dir, env=dict(os.environ, SCHEMATHESIS_HOOKS=os.path.join(HERE, "hooks.py"),
                                                    PYTHONDONTWRITEBYTECODE="1"))
    return r.returncode, time.time() - t0


def exclusion_args():
    out = []
    for name, _why in EXCLUDED:
        out += ["--exclude-name", name]
    return out


def operations(doc):
    return {f"{m.upper()} {p}" for p, item in doc["paths"].items() for m in item
            if m in ("get", "put", "post", "delete", "patch")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hub-bin", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--report-dir", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("schemathesis_args", nargs="*")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="hub-schemathesis-")
    os.makedirs(a.report_dir, exist_ok=True)
    field_dir, office_dir = os.path.join(tmp, "field"), os.path.join(tmp, "office")
    unlock = {"HUB_UNLOCK_USER": ADMIN[0], "HUB_UNLOCK_PASSWORD": ADMIN[1]}
    hubs = []
    try:
        log(f"setting up a field and an office hub in {tmp}")
        cli(a.hub_bin, ["init", "--mode", "office", "--data", office_dir, "--name", "UBND xã"])
        cli(a.hub_bin, ["init", "--mode", "field", "--data", field_dir, "--name", "Trạm thử"])
        for d, card in ((field_dir, "field.pub"), (office_dir, "office.pub")):
            with open(os.path.join(tmp, card), "w") as f:
                f.write(cli(a.hub_bin, ["key", "show", "--data", d]))
        cli(a.hub_bin, ["trust", "--data", field_dir, os.path.join(tmp, "office.pub")])
        cli(a.hub_bin, ["trust", "--data", office_dir, os.path.join(tmp, "field.pub")])
        cli(a.hub_bin, ["user", "add", "--data", field_dir, "--role", "admin", "--name", ADMIN[0]],
            {"HUB_PASSWORD": ADMIN[1]})
        cli(a.hub_bin, ["user", "add", "--data", office_dir, "--role", "admin", "--name", OFFICE_ADMIN[0]],
            {"HUB_PASSWORD": OFFICE_ADMIN[1]})

        field = Hub(a.hub_bin, "field", field_dir, os.path.join(a.report_dir, "hub-field.log"))
        hubs.append(field)
        fs = Session(field.base, *ADMIN)  # the admin's login also unlocks the field hub's data
        photo = photo_bytes(tmp)
        for subject, pin in (("Điểu Thị Hạnh", "070198001234"), ("Thị Sa Ly", "058198004567")):
            receipt = seal_dossier(fs, subject, pin, photo)
            log(f"sealed {receipt.get('code', receipt)}")
        batch = os.path.join(tmp, "field.batch")
        cli(a.hub_bin, ["batch", "export", "--data", field_dir, "--out", batch], unlock)
        cli(a.hub_bin, ["batch", "import", "--data", office_dir, batch])

        office = Hub(a.hub_bin, "office", office_dir, os.path.join(a.report_dir, "hub-office.log"))
        hubs.append(office)
        osess = Session(office.base, *OFFICE_ADMIN)

        documented = set()
        for hub in (field, office):
            with urllib.request.urlopen(hub.base + OPENAPI) as r:
                doc = json.load(r)
            with open(os.path.join(a.report_dir, f"{hub.mode}-openapi.json"), "w") as f:
                json.dump(doc, f, indent=1, ensure_ascii=False)
            ops = operations(doc)
            documented |= ops
            left = sorted(n for n, _ in EXCLUDED if n in ops)
            log(f"{hub.mode} hub: {len(ops)} operations documented, {len(left)} excluded: {', '.join(left)}")
        unknown = [n for n, _ in EXCLUDED if n not in documented]
        if unknown:
            sys.exit(f"excluded operations that neither document has (renamed?): {unknown}")

        results = []
        for hub, sess in ((field, fs), (office, osess)):
            rc, secs = schemathesis(a.venv, hub, sess, a.schemathesis_args, a.report_dir, hub.mode)
            results.append((hub.mode, rc, secs))
        for mode, rc, secs in results:
            log(f"{mode} hub: schemathesis exit {rc} in {secs:.0f} s")
        alive = True
        for hub in hubs:
            if hub.proc.poll() is not None:
                log(f"FAILED: the {hub.mode} hub exited during the run ({hub.proc.returncode})")
                alive = False
        return 0 if alive and all(rc == 0 for _, rc, _ in results) else 1
    finally:
        for hub in hubs:
            hub.stop()
        # A panic inside a request is answered 500 (caught by not_a_server_error), but one in a background
        # task is not: the hubs' logs must have none.
        for hub in hubs:
            with open(hub.log_path, encoding="utf-8", errors="replace") as f:
                panics = [line.strip() for line in f if "panicked at" in line]
            if panics:
                log(f"FAILED: the {hub.mode} hub panicked: {panics[:3]}")
                sys.exit(1)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
