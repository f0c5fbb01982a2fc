"""A reference implementation of the RFC 6962 / RFC 9162 Merkle tree, written out independently of the
server (SHA-256 from hashlib, nothing else), to recompute and check what it signs and proves: leaf and
node hashes, tree roots, inclusion and consistency proof verification, the aligned subtrees of a
range, and the compact range (the right edge of a tree) with its serialized form.

test_integrity.py checks the server against it; storage_backend.py uses it to rewrite a stored log.
"""

import hashlib


def sha256(b):
    return hashlib.sha256(b).digest()


EMPTY_ROOT = sha256(b"")


def leaf_hash(record):
    if isinstance(record, str):
        record = record.encode("utf-8")
    return sha256(b"\x00" + record)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def _split(n):
    """The largest power of two strictly below n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 6962 Merkle Tree Hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, path):
    """RFC 9162 §2.1.4.2 (first == second: the proof is empty and the roots equal)."""
    if first > second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path  # anything is consistent with the empty tree
    if not path:
        return False
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def decompose(begin, end):
    """The maximal aligned perfect subtrees (level, index) that make up leaves [begin, end)."""
    out = []
    b = begin
    while b < end:
        level = 63 if b == 0 else (b & -b).bit_length() - 1
        while level > 0 and (1 << level) > end - b:
            level -= 1
        out.append((level, b >> level))
        b += 1 << level
    return out


class CompactRange:
    """The right edge of a tree: one (level, hash) per set bit of size, largest first."""

    def __init__(self, size=0, hashes=()):
        levels = [i for i in range(63, -1, -1) if size >> i & 1]
        assert len(levels) == len(hashes), "a compact range of size %d needs %d hashes, got %d" % (
            size, len(levels), len(hashes))
        self.size = size
        self.stack = list(zip(levels, hashes))

    def append_subtree(self, level, h):
        assert self.size % (1 << level) == 0, "subtree of level %d cannot follow size %d" % (level, self.size)
        index = self.size >> level
        self.size += 1 << level
        while index & 1 and self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            h = node_hash(left, h)
            index >>= 1
            level += 1
        self.stack.append((level, h))

    def append(self, leaf):
        self.append_subtree(0, leaf)

    def root(self):
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h

    def serialized(self):
        return self.size.to_bytes(8, "big") + b"".join(h for _, h in self.stack)
