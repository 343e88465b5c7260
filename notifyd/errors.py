"""The one exception hierarchy: every error says what went wrong and what to do about it."""

from __future__ import annotations


class NotifydError(Exception):
    """Base of every error notifyd raises on purpose."""


class ConfigError(NotifydError):
    """A config value is wrong; names the key and the fix."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key, self.problem, self.fix = key, problem, fix
        super().__init__(f"{key}: {problem}. Fix: {fix}")


class ConfigErrors(ConfigError):
    """Several config problems found in one pass, so that one run lists them all."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.key, first.problem, first.fix)
        self.errors = errors
        self.args = (
            f"{len(errors)} problems:\n" + "\n".join(f"  - {e}" for e in errors)
            if len(errors) > 1
            else str(first),
        )

    def __str__(self) -> str:
        return str(self.args[0])


class RowRejected(NotifydError):
    """A registry row cannot be used; carries every reason, not just the first."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class SyncRefused(NotifydError):
    """A snapshot that would change too much is refused whole, nothing applied."""


class SourceUnreachable(NotifydError):
    """The registry source cannot be reached now (its database is down, its share is not
    mounted): nothing was changed; the next sync tries again. Not a config error."""

    def __init__(self, what: str, problem: str) -> None:
        self.what, self.problem = what, problem
        super().__init__(
            f"{what}: cannot be reached ({problem}). Nothing was changed; check that it is "
            "running and reachable from this server, then sync again"
        )


class StoreError(NotifydError):
    """The database cannot be reached or is not in the expected shape."""


class SendError(NotifydError):
    """A channel could not send; subclasses say whether trying again can help."""


class TransientSendError(SendError):
    """Worth retrying later (5xx, 429, no connection); `retry_after` in seconds if known."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        self.reason, self.retry_after = reason, retry_after
        super().__init__(reason)


class PermanentSendError(SendError):
    """Retrying this channel cannot help (invalid number, blocked): move to the next channel.
    `opt_out`: the provider says the person asked to stop (e.g. Twilio 21610)."""

    def __init__(self, reason: str, opt_out: bool = False) -> None:
        self.reason, self.opt_out = reason, opt_out
        super().__init__(reason)


class OutcomeUnknown(SendError):
    """The request left but no answer came (a timeout after sending): the provider may have
    accepted it. The attempt is recorded `unknown`; reconcile before sending again."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
