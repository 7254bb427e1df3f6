"""RFC 9162 §2.1 Merkle trees: hashing, compact ranges, proofs and their verification.

Pure functions over ``bytes``; storage is passed in as ``get_node(level, index)``, which
returns the stored *perfect* subtree covering leaves ``[index·2^level, (index+1)·2^level)``
(level 0 is the leaf hashes). Roots of ragged right edges are composed from perfect nodes,
so storage never holds a node that a later leaf would change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from oversight_audit.errors import ConsistencyProofError, InclusionProofError

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "GetNode",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_nodes",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

GetNode = Callable[[int, int], bytes]
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the hash of one leaf."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree head of ``leaf_hashes``, computed recursively exactly as RFC 9162 defines it."""
    if not leaf_hashes:
        return EMPTY_ROOT
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def _decomposition(start: int, size: int) -> list[tuple[int, int]]:
    """The perfect subtrees ``(level, index)`` covering ``[start, start+size)``, left first.

    ``start`` must be a multiple of the largest of them, which holds for every range the
    RFC 9162 recursion produces and for every prefix ``[0, size)``.
    """
    nodes = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def compact_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a compact range: its perfect subtree roots (largest first) folded."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def _range_root(start: int, size: int, get_node: GetNode) -> bytes:
    return compact_root([get_node(level, index) for level, index in _decomposition(start, size)])


class CompactRange:
    """The state of a growing tree in O(log n) hashes: the perfect subtrees of ``[0, size)``.

    ``append`` reports every perfect node a new leaf completes, so a log can store them
    and later answer ``get_node`` for proofs.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_hashes(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Resume from ``nodes()`` of an earlier range of ``size`` leaves."""
        if size < 0:
            raise ValueError("a tree size cannot be negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} holds {size.bit_count()} "
                             f"hashes, not {len(hashes)}")
        for value in hashes:
            if not isinstance(value, bytes) or len(value) != HASH_SIZE:
                raise ValueError("every compact range hash is 32 bytes")
        tree = cls()
        tree._size = size
        tree._hashes = list(hashes)
        return tree

    @classmethod
    def from_nodes(cls, size: int, get_node: GetNode) -> CompactRange:
        """Resume from storage: read the perfect subtrees covering ``[0, size)``."""
        nodes = [get_node(level, index) for level, index in _decomposition(0, size)]
        return cls.from_hashes(size, nodes)

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def nodes(self) -> list[bytes]:
        """The perfect subtree roots, largest first (``from_hashes`` reads them back)."""
        return list(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return each perfect node ``(level, index, hash)`` it completes."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        index = self._size
        completed = [(0, index, leaf)]
        value, level = leaf, 0
        while index & 1:
            value = node_hash(self._hashes.pop(), value)
            index >>= 1
            level += 1
            completed.append((level, index, value))
        self._hashes.append(value)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """The tree head over every leaf appended so far (``EMPTY_ROOT`` if none)."""
        return compact_root(self._hashes)


def root_from_nodes(size: int, get_node: GetNode) -> bytes:
    """The tree head of ``size`` leaves, from stored perfect nodes."""
    return CompactRange.from_nodes(size, get_node).root()


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start = 0
    while size > 1:  # walk down from the root, collecting siblings top first
        k = _split(size)
        if index < k:
            proof.append(_range_root(start + k, size - k, get_node))
            size = k
        else:
            proof.append(get_node(k.bit_length() - 1, start >> (k.bit_length() - 1)))
            start, index, size = start + k, index - k, size - k
    proof.reverse()
    return proof


def consistency_proof(size1: int, size2: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 §2.1.4.1 proof that the tree of ``size2`` extends the tree of ``size1``."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == 0 or size1 == size2:
        return []
    proof: list[bytes] = []
    start, m, n, complete = 0, size1, size2, True
    while m != n:  # SUBPROOF(m, D[start:start+n], complete), siblings collected top first
        k = _split(n)
        if m <= k:
            proof.append(_range_root(start + k, n - k, get_node))
            n = k
        else:
            proof.append(get_node(k.bit_length() - 1, start >> (k.bit_length() - 1)))
            start, m, n, complete = start + k, m - k, n - k, False
    if not complete:
        proof.append(_range_root(start, m, get_node))
    proof.reverse()
    return proof


def _check_hashes(
    values: Sequence[bytes], error: type[Exception], what: str = "every proof element"
) -> None:
    for position, value in enumerate(values):
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise error(f"{what} must be 32-byte hashes (item {position} is not)")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is leaf ``index`` of the tree of ``size`` with head ``root``.

    RFC 9162 §2.1.3.2; raises ``InclusionProofError``.
    """
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hashes([leaf, root], InclusionProofError, "the leaf hash and the root")
    _check_hashes(proof, InclusionProofError)
    fn, sn, value = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InclusionProofError(f"the proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            value = node_hash(sibling, value)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            value = node_hash(value, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError(f"the proof is too short ({len(proof)} hashes)")
    if value != root:
        raise InclusionProofError("the proof leads to a different root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size2`` (head ``root2``) extends that of ``size1`` (``root1``).

    RFC 9162 §2.1.4.2. Edge cases as the transparency-dev vectors want them: equal sizes
    need an empty proof and equal roots; a proof from the empty tree proves nothing and is
    refused. Raises ``ConsistencyProofError``.
    """
    if size1 < 0 or size2 < size1:
        raise ConsistencyProofError(f"size {size2} cannot extend size {size1}")
    if size1 == 0:
        raise ConsistencyProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ConsistencyProofError("equal sizes need an empty proof")
        if root1 != root2:
            raise ConsistencyProofError("equal sizes but different roots")
        return
    if not proof:
        raise ConsistencyProofError("the proof is empty")
    _check_hashes(proof, ConsistencyProofError)
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise ConsistencyProofError(f"the proof is too long ({len(proof)} hashes)")
        if fn & 1 or fn == sn:
            fr = node_hash(sibling, fr)
            sr = node_hash(sibling, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofError(f"the proof is too short ({len(proof)} hashes)")
    if fr != root1:
        raise ConsistencyProofError(f"the proof does not lead to the root of size {size1}")
    if sr != root2:
        raise ConsistencyProofError(f"the proof does not lead to the root of size {size2}")
