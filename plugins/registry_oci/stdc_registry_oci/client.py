"""One registry over HTTP(S): connections, TLS, proxies, retries, the authentication challenge,
errors in one line.

Standard library only (``http.client``, ``ssl``): a pull is a handful of requests and a few
long streamed bodies, which ``http.client`` reads straight into a buffer. What a library such as
urllib3 would bring (proxies, retries) is a few lines here; what it would not (docker's https ->
http fallback for insecure registries, resuming a cut body, waking threads blocked in a read with
:meth:`Registry.abort`) would have to be written around it anyway.

Settings (the host file's ``[registry]`` table, and the command line's ``--tls-verify``):

- ``insecure = ["host:port", …]`` — insecure registries, as docker's ``insecure-registries``:
  TLS without verifying the certificate, falling back to plain http when the registry does not
  speak TLS. Loopback registries (127.0.0.0/8, ::1, ``localhost``) are insecure without being
  listed, as under docker; every other registry is verified TLS;
- ``tls_verify`` — ``False`` (``--tls-verify=false``): this registry is insecure as above;
  ``True``: verified TLS even for a loopback or listed registry; unset: the rule above;
- ``certs_dir = "/etc/stdc/certs.d"`` — ``certs_dir/HOST[:PORT]/*.crt`` are CAs trusted for that
  registry besides the system's (``client.cert``/``client.key`` there: a client certificate),
  the layout docker uses in /etc/docker/certs.d;
- ``timeout = 60`` — seconds without progress on a connection before giving up.

``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` (or their lower-case forms) are honoured as curl
does — loopback is proxied too unless ``NO_PROXY`` names it: https through a ``CONNECT`` tunnel,
http in the proxy's absolute form. A GET or HEAD answered 429 or 5xx is tried again after a
backoff (``Retry-After`` honoured, bounded).

Each thread has a connection of its own (``http.client`` connections are not shared); the
authentication state (basic credentials or bearer tokens per scope) is shared.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import http.client
import ipaddress
import json
import os
import socket
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from stdc.errors import NotFound, StdcError

from stdc_registry_oci import credentials

DEFAULT_CERTS_DIR = "/etc/stdc/certs.d"
DEFAULT_TIMEOUT = 60.0
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRIES = 3  # after the first answer: waits of 0.5, 1 and 2 s unless the registry names its own
MAX_RETRY_WAIT = 10.0
PROBE_TIMEOUT = 10.0  # seconds an insecure registry has to answer a TLS hello before plain http is tried


class RegistryError(StdcError):
    """A registry could not be reached or refused what was asked."""


class Registry:
    """A registry host (``host[:port]``) as configured in ``settings``."""

    def __init__(self, host: str, settings: dict, login: tuple[str, str] | None = None) -> None:
        self.host = host
        self.insecure = is_insecure(host, settings)
        self.timeout = float(settings.get("timeout") or DEFAULT_TIMEOUT)
        self.certs_dir = settings.get("certs_dir") or DEFAULT_CERTS_DIR
        # an insecure registry's scheme is found on the first connection (https, else http)
        self.scheme: str | None = None if self.insecure else "https"
        self._ssl = _tls_context(os.path.join(self.certs_dir, host), verify=not self.insecure)
        self._aborted = threading.Event()
        self._login = login if login is not None else credentials.lookup(host)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []
        self._sockets: list[socket.socket] = []  # every socket opened: abort() shuts them down
        self._basic: str | None = None
        self._tokens: dict[tuple[str, ...], str] = {}
        self._bearer: dict[str, str] | None = None

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        scope: tuple[str, ...] = (),
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        expect: tuple[int, ...] = (200,),
        what: str | None = None,
    ) -> http.client.HTTPResponse:
        """Send a request (answering one authentication challenge, trying a GET or HEAD again
        on 429 and 5xx); return the response, body unread, when its status is one of
        ``expect``; else raise a one-line error."""
        for retry in range(RETRIES + 1):
            response = self._authorized(method, path, scope, headers, body)
            if response.status in expect or response.status not in RETRY_STATUSES:
                break
            if method not in ("GET", "HEAD") or retry == RETRIES:
                break
            with self.errors():
                response.read()
            if self._aborted.wait(retry_wait(response.getheader("Retry-After"), retry)):
                raise RegistryError(f"registry {self.host}: stopped")
        if response.status not in expect:
            error = self._error(method, path, response, what)
            self.discard()  # whatever is left of the error's body must not be read as the next answer
            raise error
        return response

    def _authorized(
        self, method: str, path: str, scope: tuple[str, ...], headers: dict[str, str] | None, body: bytes | None
    ) -> http.client.HTTPResponse:
        """Send a request, and once more after answering a 401's authentication challenge."""
        for attempt in range(2):
            response = self._send(method, path, {**(headers or {}), **self._authorization(scope)}, body)
            if response.status != 401 or attempt == 1:
                break
            challenge = response.getheader("WWW-Authenticate") or ""
            with self.errors():
                response.read()
            self._answer(challenge, scope)
        return response

    def open_url(self, url: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """GET a URL a registry redirected to (storage on another host): no credentials sent."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "http" and not self.insecure:
            raise RegistryError(f"registry {self.host} redirected to plain http ({parts.netloc}); refused")
        conn = self._new_connection(parts.netloc, parts.scheme)
        with self.errors():
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            conn.request("GET", conn.target(target), headers={**headers, **conn.proxy_headers})
            return conn.getresponse()

    def discard(self) -> None:
        """Close this thread's connection (after a body was left half read)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    def abort(self) -> None:
        """Shut every connection down, waking threads blocked reading from one (or waiting to retry)."""
        self._aborted.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._sockets.clear()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn what the network raises into one-line errors naming this registry."""
        host = self.host
        try:
            yield
        except ssl.SSLCertVerificationError as e:
            raise RegistryError(
                f"TLS: cannot verify registry {host}: {e.verify_message}; for a registry without a valid "
                f"certificate use --tls-verify=false or list it under [registry] insecure, or put its CA in "
                f"{os.path.join(self.certs_dir, host, 'ca.crt')}"
            ) from None
        except ssl.SSLError as e:
            raise RegistryError(f"TLS with registry {host} failed: {e.reason or e}") from None
        except TimeoutError:
            raise RegistryError(f"registry {host} did not answer within {self.timeout:g} s") from None
        except ConnectionRefusedError:
            raise RegistryError(f"cannot reach registry {host}: connection refused") from None
        except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            raise RegistryError(f"registry {host} cut the connection") from None
        except http.client.HTTPException as e:
            raise RegistryError(f"registry {host} sent a malformed answer ({type(e).__name__})") from None
        except socket.gaierror as e:
            raise RegistryError(f"cannot reach registry {host}: {e.strerror}") from None
        except OSError as e:
            if isinstance(e, StdcError):
                raise
            raise RegistryError(f"cannot reach registry {host}: {e.strerror or e}") from None

    # -- connections --------------------------------------------------------------------------

    def _connection(self) -> _HTTP | _HTTPS:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._new_connection(self.host, self._scheme())
        return conn

    def _scheme(self) -> str:
        """``https``, or for an insecure registry that does not speak TLS ``http`` (docker's fallback)."""
        with self._lock:
            if self.scheme is not None:
                return self.scheme
        probe = self._new_connection(self.host, "https")
        probe.timeout = min(self.timeout, PROBE_TIMEOUT)
        try:
            with self.errors():
                try:
                    probe.connect()
                    scheme = "https"
                except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                    scheme = "http"  # something answered, but not TLS
                except TimeoutError:
                    if probe.sock is None:
                        raise  # not even a TCP connection: no registry to fall back to
                    scheme = "http"  # connected, but no TLS answer: a plain server waiting for a line
        finally:
            probe.close()
        with self._lock:
            self.scheme = scheme
        return scheme

    def _new_connection(self, netloc: str, scheme: str) -> _HTTP | _HTTPS:
        """A connection to ``netloc``, through the proxy the environment names for it, if any."""
        proxy = proxy_for(scheme, netloc)
        address = proxy.netloc.rpartition("@")[2] if proxy else netloc
        if proxy and not proxy.port:
            address += ":80"
        conn: _HTTP | _HTTPS
        if scheme == "https":
            # an insecure registry's leniency ends at its own host: its storage and token
            # service elsewhere are verified
            lenient = self.insecure and netloc != self.host
            conn = _HTTPS(address, timeout=self.timeout, context=_tls_context(None) if lenient else self._ssl)
        else:
            conn = _HTTP(address, timeout=self.timeout)
        conn.sockets = self._sockets
        conn.proxy_headers = {}
        conn.forward = ""
        if proxy is not None:
            auth = _proxy_authorization(proxy)
            if scheme == "https":
                conn.set_tunnel(netloc, headers=auth)
            else:
                conn.proxy_headers, conn.forward = auth, f"http://{netloc}"
        with self._lock:
            self._connections.append(conn)
        return conn

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes | None) -> http.client.HTTPResponse:
        headers = {"User-Agent": "stdc", **headers}
        with self.errors():
            for attempt in range(2):
                conn = self._connection()
                reused = conn.sock is not None
                try:
                    conn.request(method, conn.target(path), body=body, headers={**headers, **conn.proxy_headers})
                    return conn.getresponse()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    conn.close()
                    if not reused or attempt == 1:
                        raise
                    # a kept-alive connection the server had closed: once more on a new one
                except BaseException:
                    conn.close()
                    raise
        raise AssertionError("unreachable")

    # -- authentication -----------------------------------------------------------------------

    def _authorization(self, scope: tuple[str, ...]) -> dict[str, str]:
        with self._lock:
            if self._basic:
                return {"Authorization": self._basic}
            token = self._tokens.get(scope)
        if token is None and self._bearer is not None:
            token = self._token(self._bearer, scope)
        return {"Authorization": token} if token else {}

    def _answer(self, challenge: str, scope: tuple[str, ...]) -> None:
        """Act on a ``WWW-Authenticate`` challenge: remember basic credentials or get a token."""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self._login is None:
                raise RegistryError(f"registry {self.host} needs a login: stdc login {self.host}")
            user, password = self._login
            with self._lock:
                self._basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        elif scheme == "bearer" and params.get("realm"):
            self._bearer = params
            self._token(params, scope)
        else:
            raise RegistryError(f"registry {self.host} asks for an authentication stdc does not know: {challenge!r}")

    def _token(self, params: dict[str, str], scope: tuple[str, ...]) -> str:
        """Get a bearer token for ``scope`` from the challenge's realm (with the stored login)."""
        realm = urllib.parse.urlsplit(params["realm"])
        if realm.scheme != "https" and not (realm.scheme == "http" and self.insecure):
            raise RegistryError(f"registry {self.host}: token service {params['realm']} is not https; refused")
        query = [("service", params["service"])] if params.get("service") else []
        query += [("scope", s) for s in scope]
        headers = {"User-Agent": "stdc"}
        if self._login is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(self._login).encode()).decode()
        conn = self._new_connection(realm.netloc, realm.scheme)
        path = realm.path or "/"
        if realm.query or query:
            path += "?" + "&".join(filter(None, [realm.query, urllib.parse.urlencode(query)]))
        with self.errors():
            conn.request("GET", conn.target(path), headers={**headers, **conn.proxy_headers})
            response = conn.getresponse()
            data = response.read(1 << 20)
        conn.close()
        if response.status in (401, 403):
            raise self._unauthorized()
        if response.status != 200:
            raise RegistryError(f"token service of registry {self.host} answered {response.status} {response.reason}")
        try:
            doc = json.loads(data)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token service of registry {self.host} sent no token")
        value = f"Bearer {token}"
        with self._lock:
            self._tokens[scope] = value
        return value

    def _unauthorized(self) -> RegistryError:
        if self._login is None:
            return RegistryError(f"registry {self.host} needs a login: stdc login {self.host}")
        return RegistryError(
            f"registry {self.host} refused the login of {self._login[0]!r}: wrong username or password"
        )

    def _error(self, method: str, path: str, response: http.client.HTTPResponse, what: str | None) -> StdcError:
        try:
            body = response.read(1 << 16)
        except (OSError, http.client.HTTPException):
            body = b""
        message = _error_message(body)
        if response.status == 401:
            return self._unauthorized()
        if response.status == 403:
            return RegistryError(f"registry {self.host} denied {what or path}{': ' + message if message else ''}")
        if response.status == 404 and what:
            return NotFound(f"{what} not found in registry {self.host}{' (' + message + ')' if message else ''}")
        return RegistryError(
            f"registry {self.host} answered {response.status} {response.reason} to {method} {path.split('?')[0]}"
            + (f": {message}" if message else "")
        )


class _HTTP(http.client.HTTPConnection):
    """Remembers its sockets: a response that ends with ``Connection: close`` takes the socket
    from its connection, and a blocked read on it must still be woken by :meth:`Registry.abort`.
    Through an http proxy, requests name the whole URL (``forward`` + path) and carry
    ``proxy_headers``."""

    sockets: list[socket.socket]
    proxy_headers: dict[str, str]
    forward: str

    def connect(self) -> None:
        super().connect()
        self.sockets.append(self.sock)

    def target(self, path: str) -> str:
        """What the request line names: the path, or the absolute URL for a forwarding proxy."""
        return self.forward + path


class _HTTPS(http.client.HTTPSConnection):
    sockets: list[socket.socket]
    proxy_headers: dict[str, str]
    forward: str

    def connect(self) -> None:
        super().connect()
        self.sockets.append(self.sock)

    def target(self, path: str) -> str:
        """The path (a proxy, if any, is a ``CONNECT`` tunnel)."""
        return path


def is_insecure(host: str, settings: dict) -> bool:
    """Whether ``host`` (``host[:port]``) is an insecure registry: ``tls_verify`` when set, else
    listed under ``insecure`` or on loopback (127.0.0.0/8, ::1, localhost), as docker decides."""
    verify = settings.get("tls_verify")
    if verify is not None:
        return not verify
    if host in (settings.get("insecure") or []):
        return True
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def proxy_for(scheme: str, netloc: str) -> urllib.parse.SplitResult | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` (or lower case) name for ``scheme://netloc``,
    unless ``NO_PROXY`` (or ``no_proxy``) covers it."""
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme)
    if not url or urllib.request.proxy_bypass_environment(netloc, proxies):
        return None
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http":
        raise RegistryError(f"proxy {url}: only http:// proxies are supported")
    return parts


def _proxy_authorization(proxy: urllib.parse.SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    user = urllib.parse.unquote(proxy.username)
    password = urllib.parse.unquote(proxy.password or "")
    return {"Proxy-Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def retry_wait(retry_after: str | None, retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (0 first): the registry's ``Retry-After``
    (seconds or an HTTP date) when it gives one, else 0.5 s doubling; never above 10 s."""
    wait = 0.5 * 2**retry
    if retry_after:
        text = retry_after.strip()
        if text.isdigit():
            wait = float(text)
        else:
            import email.utils
            import time

            with contextlib.suppress(TypeError, ValueError):
                wait = email.utils.parsedate_to_datetime(text).timestamp() - time.time()
    return min(max(wait, 0.0), MAX_RETRY_WAIT)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` -> ``("bearer", {"realm": …, "service": …})``."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().strip(",").strip().lower()
        if rest[eq + 1 : eq + 2] == '"':
            end = rest.find('"', eq + 2)
            end = len(rest) if end < 0 else end
            params[key] = rest[eq + 2 : end]
            i = end + 1
        else:
            end = rest.find(",", eq)
            end = len(rest) if end < 0 else end
            params[key] = rest[eq + 1 : end].strip()
            i = end + 1
    return scheme.lower(), params


def _error_message(body: bytes) -> str:
    """The first message of a registry's ``{"errors": [{"code", "message"}]}`` body."""
    try:
        errors = json.loads(body).get("errors") or []
        first: Any = errors[0]
        return " ".join(str(first.get("message") or first.get("code") or "").split())
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""


def _tls_context(cert_dir: str | None, verify: bool = True) -> ssl.SSLContext:
    """The system's CAs, plus ``cert_dir/*.crt`` and a client certificate when there is one;
    ``verify=False`` (an insecure registry): any server certificate accepted."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_dir and os.path.isdir(cert_dir):
        for ca in sorted(glob.glob(os.path.join(cert_dir, "*.crt"))):
            context.load_verify_locations(cafile=ca)
        cert, key = os.path.join(cert_dir, "client.cert"), os.path.join(cert_dir, "client.key")
        if os.path.exists(cert) and os.path.exists(key):
            context.load_cert_chain(cert, key)
    return context
