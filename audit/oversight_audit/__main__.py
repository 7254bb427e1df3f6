"""``python -m oversight_audit`` (also ``oversight-audit``): verify bundles and receipts offline.

Exit status: 0 intact; 1 a check failed (the first failing seq and what failed are named);
2 unusable input (what is wrong and where); 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from oversight_audit import bundle as files
from oversight_audit._internal.wire import b64
from oversight_audit.errors import AuditError, BundleError, FormatError, VerificationError
from oversight_audit.notes import VerifierKey
from oversight_audit.receipts import Receipt, VerifiedRecord, verify_receipt
from oversight_audit.verify import VerifyReport, verify_bundle, verify_chain

EXIT_INTACT, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3
Outcome = tuple[dict[str, Any], list[str], Sequence[str]]  # JSON result, lines, warnings
UNPINNED_RECEIPT_WARNING = (
    "keys not pinned: the checkpoint was verified with the receipt's own keys, which proves "
    "only that whoever made the receipt holds them; pass the log's published keys with --key")


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self._stream = stream
        self._total = total
        self.drawn = False

    def __call__(self, done: int) -> None:
        if self._total:
            share = min(done / self._total, 1.0)
            bar = "#" * int(share * 30)
            text = f"\rverifying [{bar:<30}] {share:4.0%}  {done:,}/{self._total:,} records"
        else:
            text = f"\rverifying  {done:,} records"
        self._stream.write(text)
        self._stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oversight-audit",
        description="Verify Oversight audit bundles and receipts offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, target, help_text in (
        ("verify", "PATH", "verify a bundle directory (or a records.jsonl alone: chain only)"),
        ("receipt", "FILE", "verify a receipt for one record"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("path", metavar=target, type=Path)
        command.add_argument("--key", action="append", default=[], metavar="VKEY",
                             help="a trusted verifier key <name>+<id>+<key> (repeatable)")
        command.add_argument("--keys-file", type=Path, metavar="F",
                             help="a file of trusted verifier keys, one a line")
        command.add_argument("--json", action="store_true", help="print a JSON result")
        command.add_argument("--debug", action="store_true",
                             help="show a traceback for internal errors")
    return parser


def _trusted_keys(args: argparse.Namespace) -> list[VerifierKey] | None:
    keys = []
    for text in args.key:
        try:
            keys.append(VerifierKey.from_string(text))
        except FormatError as exc:
            raise BundleError("--key", str(exc)) from None
    if args.keys_file is not None:
        try:
            text = args.keys_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BundleError(str(args.keys_file), f"cannot be read: {exc}") from None
        keys.extend(files.parse_keys(text, str(args.keys_file)))
    if (args.key or args.keys_file is not None) and not keys:
        raise BundleError("--keys-file", "holds no verifier key")
    return keys or None


def _record_total(path: Path) -> int | None:
    try:
        return files.Manifest.from_json((path / files.MANIFEST).read_bytes()).record_count
    except (OSError, FormatError):
        return None


def _verify(args: argparse.Namespace, progress: _Progress | None) -> Outcome:
    path: Path = args.path
    keys = _trusted_keys(args)
    if path.is_dir():
        report = verify_bundle(path, keys=keys, progress=progress)
    elif path.exists():
        report = verify_chain(path, progress=progress)
    else:
        raise BundleError(str(path), "no such file or directory")
    return report.to_dict(), _report_lines(report), report.warnings


def _report_lines(report: VerifyReport) -> list[str]:
    kind = "records file (CHAIN ONLY)" if report.chain_only else "bundle"
    lines = [f"INTACT  {kind} {report.path}"]
    if report.origin is not None:
        lines.append(f"  origin       {report.origin}")
    prev = "first prev = genesis" if report.first_prev_checked else "first prev not checkable"
    lines.append(f"  records      seq {report.first_seq}..{report.last_seq} "
                 f"({report.record_count:,} records; {prev})")
    if report.root is not None:
        root = b64(report.root)
        size = report.checkpoint_size if report.checkpoint_size is not None else report.record_count
        lines.append(f"  root         {root} at size {size}")
    if not report.chain_only:
        lines.append(f"  checkpoints  {report.checkpoints_verified} verified, newest of size "
                     f"{report.checkpoint_size}")
        lines.append(f"  signed by    {', '.join(report.verified_by)}")
        lines.append(f"  payloads     {report.payloads_verified:,} verified, "
                     f"{report.payloads_absent:,} erased or not exported")
    return lines


def _receipt_lines(record: VerifiedRecord) -> list[str]:
    return [
        f"INTACT  receipt for seq {record.seq}",
        f"  record       {record.action} at {record.time}, hash {record.hash}",
        f"  checkpoint   {record.checkpoint.origin}, size {record.checkpoint.size}",
        f"  signed by    {', '.join(str(key) for key in record.verified_by)}",
    ]


def _receipt(args: argparse.Namespace) -> Outcome:
    try:
        data = args.path.read_bytes()
    except OSError as exc:
        raise BundleError(str(args.path), f"cannot be read: {exc.strerror}") from None
    record = verify_receipt(Receipt.from_json(data), _trusted_keys(args))
    warnings = [] if record.keys_pinned else [UNPINNED_RECEIPT_WARNING]
    result = {"status": "intact", "seq": record.seq, "hash": record.hash,
              "tree_size": record.checkpoint.size, "origin": record.checkpoint.origin,
              "verified_by": [str(key) for key in record.verified_by],
              "keys_pinned": record.keys_pinned, "warnings": warnings}
    return result, _receipt_lines(record), warnings


def _emit(args: argparse.Namespace, result: dict[str, Any], lines: list[str],
          warnings: Sequence[str], out: TextIO, err: TextIO) -> None:
    if args.json:
        out.write(json.dumps(result, indent=2) + "\n")
        return
    out.write("\n".join(lines) + "\n")
    for warning in warnings:
        err.write(f"warning: {warning}\n")


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    """Run the CLI; return the exit status."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    args = _parser().parse_args(argv)
    progress: _Progress | None = None
    if args.command == "verify" and err.isatty() and not args.json:
        progress = _Progress(err, _record_total(args.path) if args.path.is_dir() else None)
    try:
        try:
            result, lines, warnings = (
                _verify(args, progress) if args.command == "verify" else _receipt(args))
        finally:
            if progress is not None:
                progress.clear()
    except VerificationError as exc:
        failure = {"status": "failed", "seq": exc.seq, "check": exc.check, "error": str(exc)}
        _emit(args, failure, [f"FAILED  {args.path}", f"  {exc}"], [], out, err)
        return EXIT_FAILED
    except (AuditError, OSError, MemoryError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, AuditError) else f"{type(exc).__name__}: {exc}"
        if args.json:
            _emit(args, {"status": "unusable", "error": message}, [], [], out, err)
        else:
            expects = ("a bundle directory from `oversight audit export`, or a records.jsonl"
                       if args.command == "verify"
                       else "a receipt from `oversight audit receipt`")
            err.write(f"error: unusable input: {message}\n"
                      f"hint: `{args.command}` expects {expects}\n")
        return EXIT_UNUSABLE
    except Exception as exc:
        if args.debug:
            traceback.print_exc(file=err)
        err.write(f"internal error: {type(exc).__name__}: {exc}\n"
                  "this is a bug in oversight-audit; rerun with --debug and report it\n")
        return EXIT_INTERNAL
    _emit(args, result, lines, warnings, out, err)
    return EXIT_INTACT


if __name__ == "__main__":
    sys.exit(main())
