import AuditModel
import Crypto
import Foundation
import XCTest
@testable import AuditIntegrity

/// Published RFC 6962 test vectors, copied verbatim from github.com/transparency-dev/merkle:
///  - testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1): LeafInputs, NodeHashes,
///    RootHashes, CompactTrees, EmptyRootHash;
///  - proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472): inclusionProofs,
///    consistencyProofs, roots, and the TestVerifyConsistency edge-case table;
///  - proof/proof_test.go (commit 02a3e2029520f515596d5238c54fb0ac9e19bff4): the node IDs of
///    TestInclusion / TestConsistency;
///  - testonly/vectors_test.go (commit 1c243046bea7805f274ffcdc2f0f58e69d73e25e): the accumulated
///    "Subtree Test Vectors" of draft-ietf-plants-merkle-tree-certs (subtree hashes and subtree
///    inclusion proofs of a 130-leaf tree).
/// These come from the original certificate-transparency / Trillian test data.
final class GoldenVectorTests: XCTestCase {
    // testonly/constants.go LeafInputs()
    static let leafInputs: [[UInt8]] = [
        hx(""),
        hx("00"),
        hx("10"),
        hx("2021"),
        hx("3031"),
        hx("40414243"),
        hx("5051525354555657"),
        hx("606162636465666768696a6b6c6d6e6f"),
    ]

    // testonly/constants.go NodeHashes(): [level][index]
    static let nodeHashes: [[MerkleHash]] = [[
        hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        hx("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        hx("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        hx("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        hx("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ], [
        hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ], [
        hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ], [
        hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ]]

    // testonly/constants.go RootHashes(), indexed by tree size 0...8 (size 0 = EmptyRootHash()).
    static let rootHashes: [MerkleHash] = [
        hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        hx("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
        hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        hx("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
        hx("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
        hx("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
        hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ]

    // testonly/constants.go CompactTrees(): the compact range hashes at sizes 0...8.
    static var compactTrees: [[MerkleHash]] {
        let nh = nodeHashes
        return [
            [],
            [nh[0][0]],
            [nh[1][0]],
            [nh[1][0], nh[0][2]],
            [nh[2][0]],
            [nh[2][0], nh[0][4]],
            [nh[2][0], nh[1][2]],
            [nh[2][0], nh[1][2], nh[0][6]],
            [nh[3][0]],
        ]
    }

    /// proof/verify_test.go inclusionProofs. `leaf` is 1-based there (the test uses leaf-1 as the
    /// index and roots[size-1]); the {0, 0, nil} entry is skipped there too ("i = 0 is an invalid path").
    static let inclusionProofs: [(leaf: UInt64, size: UInt64, proof: [MerkleHash])] = [
        (1, 1, []),
        (1, 8, [
            hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ]),
        (6, 8, [
            hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]),
        (3, 3, [
            hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        ]),
        (2, 5, [
            hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ]),
    ]

    // proof/verify_test.go consistencyProofs
    static let consistencyProofs: [(size1: UInt64, size2: UInt64, proof: [MerkleHash])] = [
        (1, 1, []),
        (1, 8, [
            hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            hx("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ]),
        (6, 8, [
            hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            hx("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]),
        (2, 5, [
            hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ]),
        (6, 7, [
            hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            hx("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]),
    ]

    // proof/verify_test.go roots: the roots of sizes 1...8 (roots[size-1]).
    static let verifyTestRoots: [MerkleHash] = [
        hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        hx("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
        hx("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        hx("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
        hx("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
        hx("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
        hx("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ]

    static let sha256SomeHash = hx("abacaba000000000000000000000000000000000000000000060061e00123456")
    static let sha256EmptyTreeHash = hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    static var leafHashes: [MerkleHash] { leafInputs.map(RFC6962.leafHash) }

    /// Every perfect subtree hash of the 8-leaf tree, as the compact range reports them while appending.
    static func nodeSource(_ leaves: [MerkleHash]) -> [MerkleNode: MerkleHash] {
        var out: [MerkleNode: MerkleHash] = [:]
        var cr = CompactRange()
        for l in leaves { cr.append(l) { node, hash in out[node] = hash } }
        return out
    }

    func testEmptyRootIsSHA256OfNothing() {
        XCTAssertEqual(RFC6962.emptyRoot, Self.rootHashes[0])
        XCTAssertEqual(RFC6962.emptyRoot.hexString, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(CompactRange().root(), Self.rootHashes[0])
        XCTAssertEqual(rangeHash([]), Self.rootHashes[0])
    }

    func testLeafHashesMatchPublishedLevelZero() {
        XCTAssertEqual(Self.leafHashes, Self.nodeHashes[0])
    }

    func testRootsAtEverySizeMatchPublished() {
        var cr = CompactRange()
        XCTAssertEqual(cr.root(), Self.rootHashes[0])
        XCTAssertEqual(cr.hashes, Self.compactTrees[0])
        for (i, input) in Self.leafInputs.enumerated() {
            cr.append(RFC6962.leafHash(input))
            XCTAssertEqual(cr.size, UInt64(i + 1))
            XCTAssertEqual(cr.root().hexString, Self.rootHashes[i + 1].hexString, "root of size \(i + 1)")
            XCTAssertEqual(cr.hashes, Self.compactTrees[i + 1], "compact range of size \(i + 1)")
            XCTAssertEqual(cr.nodes.count, Self.compactTrees[i + 1].count)
        }
        // verify_test.go's own copy of the roots agrees with constants.go.
        XCTAssertEqual(Array(Self.rootHashes.dropFirst()), Self.verifyTestRoots)
    }

    func testCompletedCallbackReportsEveryPublishedNodeHash() {
        let nodes = Self.nodeSource(Self.leafHashes)
        var expected: [MerkleNode: MerkleHash] = [:]
        for (level, row) in Self.nodeHashes.enumerated() {
            for (index, h) in row.enumerated() { expected[MerkleNode(level: level, index: UInt64(index))] = h }
        }
        XCTAssertEqual(nodes, expected)
    }

    func testPublishedInclusionProofsAreProducedAndVerified() throws {
        let nodes = Self.nodeSource(Self.leafHashes)
        for v in Self.inclusionProofs {
            let index = v.leaf - 1
            let plan = try ProofPlan.inclusion(index: index, size: v.size)
            let proof = try plan.assemble(nodes)
            XCTAssertEqual(proof.map(\.hexString), v.proof.map(\.hexString), "inclusion proof of \(index) in \(v.size)")
            let root = Self.verifyTestRoots[Int(v.size) - 1]
            let leaf = Self.leafHashes[Int(index)]
            XCTAssertEqual(try MerkleVerifier.rootFromInclusion(leafHash: leaf, index: index, size: v.size, proof: v.proof), root)
            XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: leaf, index: index, size: v.size, proof: v.proof, root: root))
        }
    }

    /// Every inclusion proof of the 8-leaf tree verifies against the published roots (the published
    /// list only has a few; the rest are built from the published node hashes).
    func testAllInclusionProofsOfTheGoldenTreeVerify() throws {
        let nodes = Self.nodeSource(Self.leafHashes)
        for size in UInt64(1)...8 {
            for index in 0..<size {
                let proof = try ProofPlan.inclusion(index: index, size: size).assemble(nodes)
                XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: Self.leafHashes[Int(index)], index: index, size: size, proof: proof,
                                                                    root: Self.rootHashes[Int(size)]), "\(index) in \(size)")
            }
        }
    }

    func testPublishedConsistencyProofsAreProducedAndVerified() throws {
        let nodes = Self.nodeSource(Self.leafHashes)
        for v in Self.consistencyProofs {
            let proof = try ProofPlan.consistency(from: v.size1, to: v.size2).assemble(nodes)
            XCTAssertEqual(proof.map(\.hexString), v.proof.map(\.hexString), "consistency proof \(v.size1) -> \(v.size2)")
            XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: v.size1, size2: v.size2, root1: Self.verifyTestRoots[Int(v.size1) - 1],
                                                                  root2: Self.verifyTestRoots[Int(v.size2) - 1], proof: v.proof))
        }
    }

    func testAllConsistencyProofsOfTheGoldenTreeVerify() throws {
        let nodes = Self.nodeSource(Self.leafHashes)
        for size2 in UInt64(0)...8 {
            for size1 in 0...size2 {
                let proof = try ProofPlan.consistency(from: size1, to: size2).assemble(nodes)
                XCTAssertNoThrow(try MerkleVerifier.verifyConsistency(size1: size1, size2: size2, root1: Self.rootHashes[Int(size1)],
                                                                      root2: Self.rootHashes[Int(size2)], proof: proof), "\(size1) -> \(size2)")
            }
        }
    }

    /// proof/verify_test.go TestVerifyConsistency's edge cases. There the roots are arbitrary byte
    /// strings ("don't care 1"); this verifier checks that every root is 32 bytes before anything else,
    /// so 32-byte stand-ins are used and the short ones are checked separately (hashLength).
    func testPublishedConsistencyEdgeCases() {
        let root1 = Array(SHA256.hash(data: Array("don't care 1".utf8)))
        let root2 = Array(SHA256.hash(data: Array("don't care 2".utf8)))
        let empty = Self.sha256EmptyTreeHash
        let proof2 = [Self.sha256EmptyTreeHash]
        let cases: [(UInt64, UInt64, MerkleHash, MerkleHash, [MerkleHash], String)] = [
            (0, 0, root1, root2, [], "rootMismatch"),
            (1, 1, root1, root2, [], "rootMismatch"),
            // Sizes that are always consistent.
            (0, 0, root1, root1, [], "ok"),
            (0, 1, root1, root2, [], "ok"),
            (1, 1, root2, root2, [], "ok"),
            // Time travel to the past.
            (1, 0, root1, root2, [], "sizeOrder"),
            (2, 1, root1, root2, [], "sizeOrder"),
            // Empty proof.
            (1, 2, root1, root2, [], "proofLength"),
            // Roots don't match.
            (0, 0, empty, root2, [], "rootMismatch"),
            (1, 1, empty, root2, [], "rootMismatch"),
            // Roots match but the proof is not empty.
            (0, 0, empty, empty, proof2, "proofLength"),
            (0, 1, empty, empty, proof2, "proofLength"),
            (1, 1, empty, empty, proof2, "proofLength"),
        ]
        for (s1, s2, r1, r2, proof, want) in cases {
            let got = proofErrorKind { try MerkleVerifier.verifyConsistency(size1: s1, size2: s2, root1: r1, root2: r2, proof: proof) }
            XCTAssertEqual(got, want, "\(s1) -> \(s2)")
        }
        XCTAssertEqual(proofErrorKind {
            try MerkleVerifier.verifyConsistency(size1: 0, size2: 1, root1: Array("don't care 1".utf8), root2: root2, proof: [])
        }, "hashLength")
    }

    /// proof/verify_test.go TestVerifyInclusionSingleEntry and TestVerifyInclusion's probes.
    func testPublishedInclusionEdgeCases() {
        let hash = RFC6962.leafHash(Array("data".utf8))
        XCTAssertNoThrow(try MerkleVerifier.verifyInclusion(leafHash: hash, index: 0, size: 1, proof: [], root: hash))
        XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: [], index: 0, size: 1, proof: [], root: hash) }, "hashLength")
        XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: hash, index: 0, size: 1, proof: [], root: []) }, "hashLength")
        XCTAssertEqual(proofErrorKind { try MerkleVerifier.verifyInclusion(leafHash: [], index: 0, size: 1, proof: [], root: []) }, "hashLength")

        for (index, size) in [(UInt64(0), UInt64(0)), (0, 1), (1, 0), (2, 1)] {
            for (leaf, root) in [(Self.sha256SomeHash, [UInt8]()), ([], Self.sha256EmptyTreeHash), (Self.sha256SomeHash, Self.sha256EmptyTreeHash)] {
                XCTAssertNotEqual(proofErrorKind {
                    try MerkleVerifier.verifyInclusion(leafHash: leaf, index: index, size: size, proof: [], root: root)
                }, "ok", "probe \(index):\(size)")
            }
        }
    }

    // MARK: proof/proof_test.go: which nodes each proof is made of.

    static func ids(_ pairs: [(Int, UInt64)]) -> [MerkleNode] { pairs.map { MerkleNode(level: $0.0, index: $0.1) } }

    /// proof/proof_test.go TestInclusion: (size, index) -> node IDs (compact.NewNodeID(level, index)).
    /// Go lists the nodes of a re-hashed range bottom-up, this plan left to right: compared as sets.
    static let inclusionNodeVectors: [(size: UInt64, index: UInt64, ids: [MerkleNode])] = [
        (1, 0, []),
        (2, 0, ids([(0, 1)])),
        (2, 1, ids([(0, 0)])),
        (3, 1, ids([(0, 0), (0, 2)])),
        (7, 0, ids([(0, 1), (1, 1), (0, 6), (1, 2)])),
        (7, 1, ids([(0, 0), (1, 1), (0, 6), (1, 2)])),
        (7, 2, ids([(0, 3), (1, 0), (0, 6), (1, 2)])),
        (7, 3, ids([(0, 2), (1, 0), (0, 6), (1, 2)])),
        (7, 4, ids([(0, 5), (0, 6), (2, 0)])),
        (7, 5, ids([(0, 4), (0, 6), (2, 0)])),
        (7, 6, ids([(1, 2), (2, 0)])),
        (4, 2, ids([(0, 3), (1, 0)])),
        (5, 3, ids([(0, 2), (1, 0), (0, 4)])),
        (6, 3, ids([(0, 2), (1, 0), (1, 2)])),
        (6, 4, ids([(0, 5), (2, 0)])),
        (15, 10, ids([(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)])),
        (31, 24, ids([(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)])),
        (95, 81, ids([(0, 80), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)])),
    ]

    /// proof/proof_test.go TestConsistency: (size1, size2) -> node IDs.
    static let consistencyNodeVectors: [(size1: UInt64, size2: UInt64, ids: [MerkleNode])] = [
        (1, 2, ids([(0, 1)])),
        (1, 4, ids([(0, 1), (1, 1)])),
        (1, 6, ids([(0, 1), (1, 1), (1, 2)])),
        (2, 3, ids([(0, 2)])),
        (2, 8, ids([(1, 1), (2, 1)])),
        (3, 7, ids([(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)])),
        (4, 7, ids([(0, 6), (1, 2)])),
        (5, 7, ids([(0, 4), (0, 5), (0, 6), (2, 0)])),
        (6, 7, ids([(1, 2), (0, 6), (2, 0)])),
        (7, 8, ids([(0, 6), (0, 7), (1, 2), (2, 0)])),
        (1, 1, []), (2, 2, []), (3, 3, []), (4, 4, []), (5, 5, []), (7, 7, []), (8, 8, []),
        (2, 4, ids([(1, 1)])),
        (3, 5, ids([(0, 2), (0, 3), (1, 0), (0, 4)])),
        (3, 6, ids([(0, 2), (0, 3), (1, 0), (1, 2)])),
        (4, 6, ids([(1, 2)])),
        (1, 7, ids([(0, 1), (1, 1), (0, 6), (1, 2)])),
        (10, 15, ids([(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)])),
        (24, 31, ids([(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)])),
        (81, 95, ids([(0, 80), (0, 81), (1, 41), (2, 21), (0, 94), (1, 46), (2, 22), (4, 4), (6, 0)])),
    ]

    func testInclusionPlanNodesMatchPublishedIDs() throws {
        for v in Self.inclusionNodeVectors {
            let nodes = try ProofPlan.inclusion(index: v.index, size: v.size).nodes
            XCTAssertEqual(nodes.count, v.ids.count, "\(v.size):\(v.index)")
            XCTAssertEqual(Set(nodes), Set(v.ids), "\(v.size):\(v.index)")
        }
        // The published error cases.
        for (size, index) in [(UInt64(0), UInt64(0)), (0, 1), (1, 2), (0, 3), (7, 8)] {
            XCTAssertThrowsError(try ProofPlan.inclusion(index: index, size: size), ProofError.indexOutOfRange(index: index, size: size))
        }
    }

    func testConsistencyPlanNodesMatchPublishedIDs() throws {
        for v in Self.consistencyNodeVectors {
            let nodes = try ProofPlan.consistency(from: v.size1, to: v.size2).nodes
            XCTAssertEqual(nodes.count, v.ids.count, "\(v.size1):\(v.size2)")
            XCTAssertEqual(Set(nodes), Set(v.ids), "\(v.size1):\(v.size2)")
        }
        for (s1, s2) in [(UInt64(5), UInt64(0)), (9, 8)] {
            XCTAssertThrowsError(try ProofPlan.consistency(from: s1, to: s2), ProofError.sizeOrder(size1: s1, size2: s2))
        }
    }

    // MARK: testonly/vectors_test.go: draft-ietf-plants-merkle-tree-certs "Subtree Test Vectors".

    /// The tree D of those vectors: 130 leaves with d[i] = the single byte i. Returns every perfect
    /// subtree hash, collected from the compact range's `completed` callback.
    static func subtreeVectorNodes() -> [MerkleNode: MerkleHash] {
        var nodes: [MerkleNode: MerkleHash] = [:]
        var cr = CompactRange()
        for i in 0..<130 { cr.append(RFC6962.leafHash([UInt8(i)])) { n, h in nodes[n] = h } }
        return nodes
    }

    /// testonly/tree.go isSubtreeValid: start is 0, or a multiple of bit_ceil(end - start).
    static func isSubtreeValid(_ start: UInt64, _ end: UInt64) -> Bool {
        guard start < end else { return false }
        if start == 0 { return true }
        var bc: UInt64 = 1
        while bc < end - start { bc <<= 1 }
        return start % bc == 0
    }

    static func subtreeHash(_ r: Range<UInt64>, _ nodes: [MerkleNode: MerkleHash]) -> MerkleHash {
        rangeHash(MerkleNode.decompose(r).map { nodes[$0]! })
    }

    /// TestSubtreeHashVectors: the rolling SHA-256 of "[start, end) <hex hash>\n" over every valid
    /// subtree of the 130-leaf tree. Exercises `decompose` + `rangeHash` on every range shape.
    func testPublishedSubtreeHashVector() {
        let nodes = Self.subtreeVectorNodes()
        var h = SHA256()
        for end in UInt64(1)...130 {
            for start in 0..<end where Self.isSubtreeValid(start, end) {
                h.update(data: Array("[\(start), \(end)) \(Self.subtreeHash(start..<end, nodes).hexString)\n".utf8))
            }
        }
        XCTAssertEqual(Array(h.finalize()).hexString, "94a95384a8c69acea9b50d035a58285b3a777cb7a724005faa5e1f1e1190007f")
    }

    /// TestSubtreeInclusionProofVectors: the rolling SHA-256 of "<index> [start, end) <hex>...\n" over
    /// the inclusion proof of every leaf in every valid subtree (the RFC 6962 PATH within D[start:end]),
    /// built here from `ProofPlan.inclusion` with its ranges shifted to the subtree's start.
    func testPublishedSubtreeInclusionProofVector() throws {
        let nodes = Self.subtreeVectorNodes()
        var h = SHA256()
        for end in UInt64(1)...130 {
            for start in 0..<end where Self.isSubtreeValid(start, end) {
                for index in start..<end {
                    let plan = try ProofPlan.inclusion(index: index - start, size: end - start)
                    let proof = plan.ranges.map { Self.subtreeHash($0.lowerBound + start..<$0.upperBound + start, nodes) }
                    var line = "\(index) [\(start), \(end))"
                    for p in proof { line += " " + p.hexString }
                    h.update(data: Array((line + "\n").utf8))
                }
            }
        }
        XCTAssertEqual(Array(h.finalize()).hexString, "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f")
    }
}
