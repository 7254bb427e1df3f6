"""C2SP signed notes and tlog checkpoints: the published vector, tampering, key strings."""

from __future__ import annotations

import base64

import pytest

from oversight_audit import (
    Checkpoint,
    CheckpointError,
    MalformedCheckpoint,
    MalformedKey,
    MalformedNote,
    SignatureError,
    UnverifiedNote,
    VerifierKey,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from tests.audit.conftest import require_vectors
from tests.audit.factories import ORIGIN, signer

# From /work/shared/vectors/README.md (Go's golang.org/x/mod/sumdb/note documentation).
PETER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = ("If you think cryptography is the answer to your problem,\n"
              "then you don't know what your problem is.\n")
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXg"
             "KvqfqdngotpRZb6KE6RyyBwJnAM=\n")
PETER_NOTE = PETER_TEXT + "\n" + PETER_SIG


def test_the_vector_readme_still_holds_the_note_we_test() -> None:
    readme = (require_vectors() / "README.md").read_text()
    assert PETER_KEY in readme
    assert PETER_SIG.split()[2] in readme


def test_the_peter_neumann_note_verifies() -> None:
    key = VerifierKey.from_string(PETER_KEY)
    assert str(key) == PETER_KEY
    assert key.key_id == bytes.fromhex("c74f20a3") == key_id("PeterNeumann", key.public_key)
    opened = open_note(PETER_NOTE, [key])
    assert opened.text == PETER_TEXT
    assert opened.verified_by == (key,)


def test_a_changed_text_fails_the_known_signature() -> None:
    key = VerifierKey.from_string(PETER_KEY)
    forged = PETER_NOTE.replace("cryptography", "blockchain")
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(forged, [key])


def test_an_unknown_key_only_is_unverified_and_unknown_signatures_are_ignored() -> None:
    ours = signer().verifier_key()
    with pytest.raises(UnverifiedNote, match="PeterNeumann"):
        open_note(PETER_NOTE, [ours])
    cosigned = sign_note(PETER_TEXT, [signer()])
    both = cosigned + PETER_SIG  # a second block line by a key the verifier does not know
    assert open_note(both, [ours]).verified_by == (ours,)
    peter = VerifierKey.from_string(PETER_KEY)
    assert set(open_note(both, [ours, peter]).verified_by) == {ours, peter}


def test_a_key_with_the_right_name_and_id_but_another_key_fails() -> None:
    real = VerifierKey.from_string(PETER_KEY)
    # Same name, different key: a different id, so the signature is ignored, not trusted.
    impostor = signer(name="PeterNeumann").verifier_key()
    assert impostor.key_id != real.key_id
    with pytest.raises(UnverifiedNote):
        open_note(PETER_NOTE, [impostor])


@pytest.mark.parametrize("note", [
    PETER_TEXT + PETER_SIG,  # no blank line before the signatures
    PETER_TEXT + "\n",  # no signature at all
    PETER_TEXT + "\n" + PETER_SIG[:-1],  # no final newline
    PETER_TEXT + "\n" + PETER_SIG.replace("— ", "-- "),  # not an em dash
    PETER_TEXT + "\n" + PETER_SIG.replace("x08go", "x08g!"),  # not base64
    PETER_TEXT + "\n" + "— PeterNeumann AAAA\n",  # too short to hold an id and a signature
    PETER_TEXT + "\n" + PETER_SIG + "garbage\n",  # a trailing line that is not a signature
    PETER_TEXT.replace("problem,", "problem,\x07") + "\n" + PETER_SIG,  # a control character
])
def test_garbled_notes_are_malformed(note: str) -> None:
    with pytest.raises(MalformedNote):
        open_note(note, [VerifierKey.from_string(PETER_KEY)])


def test_duplicate_signature_lines_by_one_key_count_once() -> None:
    key = VerifierKey.from_string(PETER_KEY)
    assert open_note(PETER_NOTE + PETER_SIG, [key]).verified_by == (key,)


def test_signing_round_trips_and_needs_a_final_newline() -> None:
    note = sign_note("hello\n", [signer(1), signer(2, name="witness")])
    keys = [signer(1).verifier_key(), signer(2, name="witness").verifier_key()]
    assert open_note(note, keys).verified_by == tuple(keys)
    assert note == sign_note("hello\n", [signer(1), signer(2, name="witness")])  # deterministic
    with pytest.raises(MalformedNote, match="newline"):
        sign_note("hello", [signer()])


@pytest.mark.parametrize(("text", "problem"), [
    ("PeterNeumann+c74f20a3", "expected <name>"),
    ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "white space"),
    ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "empty"),
    ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key id"),
    ("PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex"),
    ("PeterNeumann+c74f20a3+ApqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c", "algorithm byte 0x02"),
    ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1w==", "holds 30 bytes"),
    ("PeterNeumann+c74f20a3+not base64!", "base64"),
])
def test_verifier_key_strings_are_rejected_precisely(text: str, problem: str) -> None:
    with pytest.raises(MalformedKey, match=problem):
        VerifierKey.from_string(text)


def _checkpoint(size: int = 7, head: str | None = "ab" * 32) -> Checkpoint:
    return Checkpoint(ORIGIN, size, bytes(range(32)), head, ("witness-hint x",))


def test_a_checkpoint_round_trips_through_text_and_signature() -> None:
    checkpoint = _checkpoint()
    text = checkpoint.to_text()
    assert text == (f"{ORIGIN}\n7\n{base64.b64encode(bytes(range(32))).decode()}\n"
                    f"oversight-chain-head {'ab' * 32}\nwitness-hint x\n")
    assert Checkpoint.from_text(text) == checkpoint
    note = sign_checkpoint(checkpoint, [signer()])
    assert open_checkpoint(note, [signer().verifier_key()], origin=ORIGIN) == checkpoint
    assert Checkpoint.from_text(Checkpoint(ORIGIN, 0, bytes(32)).to_text()).chain_head is None


def test_a_checkpoint_of_another_origin_or_key_is_refused() -> None:
    note = sign_checkpoint(_checkpoint(), [signer()])
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(note, [signer().verifier_key()], origin="other.example/log")
    with pytest.raises(UnverifiedNote):
        open_checkpoint(note, [signer(3).verifier_key()])


@pytest.mark.parametrize(("text", "problem"), [
    (f"{ORIGIN}\n7\n", "origin, size and root"),
    (f"{ORIGIN}\n07\n{base64.b64encode(bytes(32)).decode()}\n", "leading zeros"),
    (f"{ORIGIN}\n-1\n{base64.b64encode(bytes(32)).decode()}\n", "line 2"),
    (f"{ORIGIN}\n7\n{base64.b64encode(bytes(31)).decode()}\n", "31 bytes"),
    (f"{ORIGIN}\n7\n%%%\n", "base64"),
    (f"\n7\n{base64.b64encode(bytes(32)).decode()}\n", "origin is empty"),
    (f"{ORIGIN}\n7\n{base64.b64encode(bytes(32)).decode()}\noversight-chain-head XYZ\n",
     "64 lower-case hex"),
    (f"{ORIGIN}\n7\n{base64.b64encode(bytes(32)).decode()}\n\nx\n", "empty extension"),
    (f"{ORIGIN}\n7\n{base64.b64encode(bytes(32)).decode()}", "end with a newline"),
])
def test_malformed_checkpoints_name_the_line(text: str, problem: str) -> None:
    with pytest.raises(MalformedCheckpoint, match=problem):
        Checkpoint.from_text(text)
