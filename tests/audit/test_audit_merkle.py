"""RFC 9162 Merkle trees: the RFC 6962 reference tree, transparency-dev vectors, our proofs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from oversight_audit import (
    EMPTY_ROOT,
    CompactRange,
    ConsistencyProofError,
    InclusionProofError,
    ProofError,
    VerificationError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_nodes,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from tests.audit.conftest import VECTORS, require_vectors

RFC6962_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
RFC6962_ROOT = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
MERKLE = VECTORS / "transparency-dev-merkle" / "testdata"


def _vector_files(kind: str) -> list[Any]:
    files = sorted((MERKLE / kind).glob("*/*.json"))
    if not files:  # keep one case so the missing vectors are reported, not silently skipped
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(path, id=f"{path.parent.name}/{path.stem}") for path in files]


def _load(path: Path | None) -> dict[str, Any]:
    require_vectors()
    if path is None:
        pytest.fail(f"no vector files under {MERKLE}", pytrace=False)
    return json.loads(path.read_text())


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


class Store:
    """Perfect nodes recorded from CompactRange.append, as a log's storage would hold them."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.tree = CompactRange()
        for leaf in leaves:
            for level, index, value in self.tree.append(leaf):
                self.nodes[(level, index)] = value

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(b"leaf %d" % i) for i in range(count)]


STORE_64 = Store(_leaves(64))


def test_the_rfc6962_reference_tree_has_the_published_root() -> None:
    hashes = [leaf_hash(data) for data in RFC6962_LEAVES]
    assert root_of(hashes).hex() == RFC6962_ROOT
    assert Store(hashes).tree.root().hex() == RFC6962_ROOT


def test_hashing_is_domain_separated_as_rfc9162_says() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert node_hash(b"a", b"b") != node_hash(b"b", b"a")
    assert root_of([]) == EMPTY_ROOT == CompactRange().root()


@pytest.mark.parametrize("path", _vector_files("inclusion"))
def test_inclusion_vectors(path: Path | None) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"]))
    if case["wantErr"]:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_files("consistency"))
def test_consistency_vectors(path: Path | None) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]
    args = (case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"]))
    if case["wantErr"]:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_every_vector_folder_was_read() -> None:
    require_vectors()
    assert len(list((MERKLE / "inclusion").glob("*/*.json"))) > 50
    assert len(list((MERKLE / "consistency").glob("*/*.json"))) > 50
    assert (MERKLE / "consistency" / "additional").is_dir()


@pytest.mark.parametrize("size", range(1, 65))
def test_our_inclusion_proofs_verify_for_every_index(size: int) -> None:
    store = Store(STORE_64.leaves[:size])
    root = root_of(store.leaves)
    assert root_from_nodes(size, STORE_64.get) == root == store.tree.root()
    for index in range(size):
        proof = inclusion_proof(index, size, STORE_64.get)
        verify_inclusion(store.leaves[index], index, size, proof, root)
        if size > 1:
            with pytest.raises(InclusionProofError):
                verify_inclusion(store.leaves[(index + 1) % size], index, size, proof, root)


def test_our_consistency_proofs_verify_for_every_pair_up_to_64() -> None:
    roots = [root_of(STORE_64.leaves[:size]) for size in range(65)]
    for size2 in range(1, 65):
        with pytest.raises(ConsistencyProofError, match="empty tree"):
            verify_consistency(0, size2, [], roots[0], roots[size2])
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(size1, size2, STORE_64.get)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])
            if size1 < size2:
                with pytest.raises(ConsistencyProofError):
                    verify_consistency(size1, size2, proof, roots[size1], roots[size2 - 1])


def test_compact_range_reports_every_completed_perfect_node() -> None:
    tree = CompactRange()
    assert tree.append(leaf_hash(b"0")) == [(0, 0, leaf_hash(b"0"))]
    completed = tree.append(leaf_hash(b"1"))
    assert [(level, index) for level, index, _ in completed] == [(0, 1), (1, 0)]
    assert completed[-1][2] == node_hash(leaf_hash(b"0"), leaf_hash(b"1"))
    tree.append(leaf_hash(b"2"))
    assert [(lv, ix) for lv, ix, _ in tree.append(leaf_hash(b"3"))] == [(0, 3), (1, 1), (2, 0)]


@pytest.mark.parametrize("size", [0, 1, 5, 31, 32, 33, 63])
def test_compact_range_resumes_from_storage_or_from_its_hashes(size: int) -> None:
    resumed = CompactRange.from_nodes(size, STORE_64.get)
    again = CompactRange.from_hashes(size, resumed.nodes())
    assert len(resumed.nodes()) == size.bit_count()
    for tree in (resumed, again):
        for leaf in STORE_64.leaves[size:]:
            tree.append(leaf)
        assert tree.size == 64
        assert tree.root() == STORE_64.tree.root()


def test_compact_range_refuses_a_state_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="holds 2 hashes"):
        CompactRange.from_hashes(3, [b"\0" * 32])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange.from_hashes(1, [b"\0" * 31])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")


def test_proof_errors_are_verification_errors_and_ranges_are_checked() -> None:
    assert issubclass(InclusionProofError, ProofError)
    assert issubclass(ConsistencyProofError, VerificationError)
    with pytest.raises(InclusionProofError, match="outside"):
        verify_inclusion(STORE_64.leaves[0], 5, 5, [], EMPTY_ROOT)
    with pytest.raises(InclusionProofError, match="32-byte"):
        verify_inclusion(STORE_64.leaves[0], 0, 2, [b"x"], EMPTY_ROOT)
    with pytest.raises(ConsistencyProofError, match="cannot extend"):
        verify_consistency(5, 4, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ValueError):
        inclusion_proof(3, 3, STORE_64.get)
    with pytest.raises(ValueError):
        consistency_proof(4, 3, STORE_64.get)
