"""Keep secrets out of everything excelfmt prints or writes. Imports nothing local."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"

# Header names whose values are credentials whatever they hold.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)

# Shorter values would mask innocent text ("1", "on"); no real credential is this short.
_MIN_SECRET_LENGTH = 4


class Redactor:
    """Replace known secret values with a mask in any text before it leaves the process."""

    def __init__(self, secrets: Iterable[str] = (), sensitive_headers: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(
            {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
        )
        self._headers = SENSITIVE_HEADERS | {h.lower() for h in sensitive_headers}

    def learn(self, secret: str) -> None:
        """Mask `secret` from now on too (an access token fetched during a run)."""
        if len(secret) >= _MIN_SECRET_LENGTH and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    @property
    def active(self) -> bool:
        """Whether there is anything to mask in text (header names are masked anyway)."""
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def header(self, name: str, value: str) -> str:
        """The value of a header as it may be shown: masked when the name is sensitive."""
        return MASK if name.lower() in self._headers else self(value)
