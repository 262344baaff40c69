"""Passwords and tokens of PACS nodes: in the OS keyring, or held for this session only.

``keyring`` stores them in the platform's vault (Secret Service, macOS Keychain, Windows
Credential Locker). Where no such vault exists (a headless server) or only a plain-text file
backend is configured, nothing is written anywhere: the secret is asked for (``ask``) once per
session and kept in memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

SERVICE = "medmo-viewer-pacs"
# keyring backends that would write the secret in clear text (keyrings.alt's file backends)
_PLAIN_TEXT_BACKENDS = ("PlaintextKeyring", "EncryptedKeyring", "file.")

AskFn = Callable[[str], "str | None"]


def vault_name() -> str:
    """The keyring backend that would hold secrets, or "" when there is no safe one."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return ""
    backend = keyring.get_keyring()
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return ""
    if any(marker in name for marker in _PLAIN_TEXT_BACKENDS):
        return ""
    return name


class Secrets:
    """Secrets by key (a node's ``secret_key``). ``ask(prompt)`` is called when a secret is
    needed and not known; it returns the secret or None (the user cancelled)."""

    def __init__(self, *, ask: AskFn | None = None, service: str = SERVICE) -> None:
        self.ask = ask
        self.service = service
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def vault(self) -> str:
        return vault_name()

    def get(self, key: str, *, prompt: str = "") -> str | None:
        """The secret for ``key``: this session's, the keyring's, or asked for."""
        if not key:
            return None
        with self._lock:
            if key in self._session:
                return self._session[key]
        secret = self._from_vault(key)
        if secret is None and self.ask is not None:
            secret = self.ask(prompt or f"Password or token for {key}")
            if secret:
                self.remember(key, secret, store=False)
        elif secret is not None:
            with self._lock:
                self._session[key] = secret
        return secret or None

    def remember(self, key: str, secret: str, *, store: bool = True) -> bool:
        """Keep ``secret`` for this session and, with ``store``, in the keyring.

        Returns True when it went to the keyring, False when it is held in memory only.
        """
        with self._lock:
            self._session[key] = secret
        if not store or not self.vault:
            return False
        import keyring

        try:
            keyring.set_password(self.service, key, secret)
        except Exception as exc:  # keyring backends raise their own types
            log.warning("keyring refused the secret (%s); held for this session only",
                        type(exc).__name__)
            return False
        return True

    def forget(self, key: str) -> None:
        """Drop the secret from the session and the keyring (after a refused login)."""
        with self._lock:
            self._session.pop(key, None)
        if self.vault:
            import keyring

            try:
                keyring.delete_password(self.service, key)
            except Exception:  # noqa: BLE001 - absent already is fine
                log.debug("no keyring entry to delete")

    def _from_vault(self, key: str) -> str | None:
        if not self.vault:
            return None
        import keyring

        try:
            return keyring.get_password(self.service, key)
        except Exception as exc:  # a locked or broken vault: ask instead
            log.warning("keyring unavailable (%s); asking instead", type(exc).__name__)
            return None
