"""Saving draft rules from the workbench: only when the server allows editing, only the policy's own files, and never blind.

Its place: ``policy-rules serve --allow-editing`` gives the workbench a
``RuleFiles`` (the files the server loaded, where they really are), and
``save`` is what ``POST /workbench/save`` does with a draft. A save is refused
(and nothing is written) when the draft has errors, names a file that is not
one of the policy's own, leaves one out, changes nothing, was drafted from
rules that are no longer the ones served (another officer saved since), or
when a file on disk was changed outside the workbench since the server read
it: the officer would otherwise overwrite work they never saw; ``take_up``
then serves the files as they are on disk and says what changed there. The changed
files are written each under a temporary name, then renamed into place, so a
reader never meets half a file. The server then reads the files back (they
must be the draft, to the letter), serves the draft's policy, checked and
compiled once, from the next request, and the register records who saved which files,
why, and the rule sets before and after (``DecisionRegister.record_save``).
If reading back or recording fails, the files are put back as they were and
the rules served stay the same: a save is on disk, served and recorded, or
none of these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from policy_rules.api import policy_from_sources
from policy_rules.engine.decision import PolicyInfo
from policy_rules.errors import PolicyError, RuleFileError
from policy_rules.language.checker import default_title
from policy_rules.language.loader import read_sources, rule_files
from policy_rules.safety.outputs import AtomicFile
from policy_rules.service.served import ServedPolicy
from policy_rules.store import RuleSave

_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def plain_text(text: str) -> bool:
    """Whether ``text`` can be written to a UTF-8 file and a database: no NUL character, no unpaired surrogate."""
    return _NOT_TEXT.search(text) is None


class SaveRefused(PolicyError):
    """A save that cannot be made as asked; ``status`` is the HTTP status that says why (403, 409 or 422)."""

    def __init__(self, status: int, message: str, location: str = "files", on_disk: bool = False) -> None:
        super().__init__(message, location)
        self.status = status
        #: The files on disk differ from those served: the workbench offers to take them up (``take_up``).
        self.on_disk = on_disk


@attrs.frozen
class RuleFiles:
    """The rule files or folders a server was started with; saving may write the files found there, and nothing else."""

    paths: tuple[str, ...]

    def where(self) -> dict[str, Path]:
        """Each rule file by the name the policy gives it, with the path it really has (a link's target)."""
        return {shown: real for path in self.paths for shown, real in rule_files(path)}

    def read(self) -> dict[str, str]:
        return read_sources(self.paths)

    @property
    def title(self) -> str:
        return default_title(self.paths[0])


@attrs.frozen
class Saved:
    """A save made: its record in the register, and the policy now served (the rules read back from disk)."""

    record: RuleSave
    policy: PolicyInfo


def save(served: ServedPolicy, files: RuleFiles, draft: Mapping[str, str], base: str, reason: str, saved_by: str, who: str) -> Saved:
    """Write the files of ``draft`` that differ from the served rules, serve the result, and record the save."""
    with served.saving:
        current = served.current
        saved = dict(current.policy.model.sources)
        _same_files(draft, saved)
        if base != current.policy.info.digest:
            raise SaveRefused(
                409,
                "the rules were saved by someone else after you started this draft; reload the page to see their rules, then make your change again",
                "base",
            )
        changed = [name for name in saved if draft[name] != saved[name]]
        if not changed:
            raise SaveRefused(422, "the draft is the same as the saved rules; there is nothing to save")
        ordered = {name: draft[name] for name in saved}  # in the order the files are read from disk, as a restarted server would
        try:
            policy = policy_from_sources(ordered, files.title)
        except RuleFileError as error:
            raise SaveRefused(422, f"the draft rules have errors; fix the problems first ({error.message.splitlines()[0]})") from None
        _unchanged_on_disk(files, saved)
        where = files.where()
        _write(where, {name: draft[name] for name in changed})
        try:
            if files.read() != ordered:
                raise PolicyError("another program wrote them at the same moment")
            served.replace(policy)
            now = served.current
            record = served.register.record_save(current.rule_set, now.rule_set, changed, reason, saved_by, who)
        except BaseException as error:
            # Not served, or not recorded: put the files back, so that the disk, the rules served and the register agree.
            served.current = current
            _write(where, {name: saved[name] for name in changed})
            if isinstance(error, PolicyError):
                raise SaveRefused(
                    409,
                    f"the rule files read back from disk did not load as written ({error.message.splitlines()[0]}); they were put back as they were",
                ) from None
            raise
        return Saved(record, now.policy.info)


def _same_files(draft: Mapping[str, str], saved: Mapping[str, str]) -> None:
    unknown = sorted(set(draft) - set(saved))
    if unknown:
        raise SaveRefused(422, f"{unknown[0]} is not one of this policy's rule files ({', '.join(saved)}); the workbench saves only those")
    for name, text in draft.items():
        if not plain_text(text):
            raise SaveRefused(422, "rule files are plain text; this one holds a NUL character or an unpaired surrogate (\\ud800 to \\udfff)", name)
    missing = [name for name in saved if name not in draft]
    if missing:
        raise SaveRefused(422, f"the draft leaves out {missing[0]}; send every rule file of the policy")


def _unchanged_on_disk(files: RuleFiles, saved: Mapping[str, str]) -> None:
    try:
        on_disk = files.read()
    except PolicyError as error:
        raise SaveRefused(409, f"the rule files on disk cannot be read as the server read them ({error.message.splitlines()[0]}); nothing was saved") from None
    for name in sorted(set(on_disk) | set(saved)):
        if on_disk.get(name) != saved.get(name):
            what = "was added" if name not in saved else "was removed" if name not in on_disk else "was changed"
            raise SaveRefused(
                409,
                f"{name} {what} on disk after the server read the rules, so nothing was saved: the save would overwrite that change unseen. "
                "Choose Take up the files on disk to see what changed there and decide with those files; your draft stays in the editor",
                name,
                on_disk=True,
            )


@attrs.frozen
class TakenUp:
    """The rule files as they are on disk, now served, and how they differ from the rules served before (unified diff lines)."""

    files: dict[str, str]
    policy: PolicyInfo
    diff: list[str]


def take_up(served: ServedPolicy, files: RuleFiles) -> TakenUp:
    """Serve the rule files as they are on disk now, as a restarted server would, when they were changed outside the workbench.

    A save refuses to overwrite a file changed on disk unseen; this is the way
    on: the officer sees what changed there, and the next draft is made from
    those files. Files on disk with errors are refused, and the rules served stay.
    """
    import difflib

    with served.saving:
        before = dict(served.current.policy.model.sources)
        try:
            on_disk = files.read()
            policy = policy_from_sources(on_disk, files.title)
        except RuleFileError as error:
            raise SaveRefused(
                422, f"the rule files on disk have errors, so the server keeps the rules it has; fix them on disk first ({error.message.splitlines()[0]})"
            ) from None
        except PolicyError as error:
            raise SaveRefused(422, f"the rule files on disk cannot be read ({error.message.splitlines()[0]}); the server keeps the rules it has") from None
        diff: list[str] = []
        for name in sorted(set(before) | set(on_disk)):
            old, new, shown = before.get(name, ""), on_disk.get(name, ""), name.lstrip("/")
            diff.extend(line.rstrip("\n") for line in difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{shown}", f"b/{shown}"))
        if diff:
            served.replace(policy)
        return TakenUp(on_disk, served.current.policy.info, diff)


def _write(where: Mapping[str, Path], texts: Mapping[str, str]) -> None:
    """Write every file under a temporary name first, then rename each into place: a failure before the renames leaves every file as it was."""
    pending: list[AtomicFile] = []
    try:
        for name, text in texts.items():
            out = AtomicFile(str(where[name]))
            pending.append(out)
            out.file.write(text)
    except BaseException:
        for out in pending:
            out.discard()
        raise
    for out in pending:
        out.commit()


def check_paths(paths: Sequence[str]) -> RuleFiles:
    """The ``RuleFiles`` of ``serve --allow-editing RULES``: every rule file found must be writable by the server."""
    import os

    files = RuleFiles(tuple(str(p) for p in paths))
    for shown, real in files.where().items():
        if not os.access(real, os.W_OK) or not os.access(real.parent, os.W_OK):
            raise PolicyError(
                f"--allow-editing needs to write the rule files, and this one (or its folder) cannot be written by this user: {shown}", "--allow-editing"
            )
    return files


__all__ = ["RuleFiles", "SaveRefused", "Saved", "TakenUp", "check_paths", "plain_text", "save", "take_up"]
