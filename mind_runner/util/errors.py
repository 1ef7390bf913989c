"""The exception types the command line turns into a one-line message."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; its message says what to do."""


class MachineFault(UserError):
    """A problem of this machine or of the harness, never a fact about MIND.

    `what` is what went wrong, `remedy` what to do about it; the message is both.
    Raised where MIND is built, installed or run, it also goes into the run log
    (see `util.run_log`), so that asv's null for the commit replaces nothing.
    """

    def __init__(self, what: str, remedy: str) -> None:
        super().__init__(f"{what}: {remedy}")
        self.what = what
        self.remedy = remedy

    @classmethod
    def unwritable(cls, action: str, error: OSError, room: str = "disk space") -> MachineFault:
        """`action` ("cannot write PATH") failed for want of `room` or of permissions."""
        return cls(
            f"{action} ({error.strerror})", f"free {room} (or fix permissions) and run again"
        )
