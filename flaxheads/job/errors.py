"""The error the command-line job reports as one line on stderr."""


class JobError(Exception):
  """A problem with the configuration, the data or the workdir, stated in one line.

  The command-line job prints the message as ``flaxheads: error: <message>``
  and exits with a non-zero status; nothing in the workdir is changed by a
  command that fails this way before training starts.
  """


def first_line(error: BaseException) -> str:
  """The first line of an exception's message (its type name if it has none)."""
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__
