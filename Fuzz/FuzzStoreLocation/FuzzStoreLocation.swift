// libFuzzer target: `StoreLocation.parse` (the --store URL). Any bytes must give a location or a
// refusal, never a trap; a refusal never repeats what follows a `:` in the user part (a password); a
// location prints (`description`) as a URL that parses to the same location and holds no password.
// Built and run by scripts/fuzz; seeds in Fuzz/Corpus/FuzzStoreLocation.
import AuditConfiguration
import Foundation
import FuzzHarness

func fuzzStoreLocation(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    switch StoreLocation.parse(text) {
    case .failure(let refusal):
        precondition(!refusal.reason.isEmpty && refusal.reason.utf8.count < 600, "a short reason")
        if text.hasPrefix("postgres://"), let at = text.lastIndex(of: "@"), let colon = text[..<at].firstIndex(of: ":", after: 11) {
            let secret = String(text[text.index(after: colon)..<at])
            if secret.utf8.count >= 6, refusal.reason.contains(secret) {
                // Only a message's own words may hold it ("ssword" is in "--store-password-file"): with
                // another password of the same length, the refusal must still hold it.
                let other = text.replacingOccurrences(of: secret, with: String(repeating: "Z", count: secret.count))
                guard case .failure(let again) = StoreLocation.parse(other) else { return }
                precondition(again.reason.contains(secret), "the refusal repeats the password")
            }
        }
    case .success(let location):
        guard case .success(let again) = StoreLocation.parse(location.description) else { preconditionFailure("\(location) does not parse") }
        precondition(again == location, "\(location) parses to \(again)")
        precondition((1...65535).contains(location.port))
    }
}

extension StringProtocol {
    func firstIndex(of c: Character, after offset: Int) -> Index? {
        guard let start = index(startIndex, offsetBy: offset, limitedBy: endIndex) else { return nil }
        return self[start...].firstIndex(of: c)
    }
}

@main enum Main: FuzzTarget {
    static func fuzz(_ input: UnsafeRawBufferPointer) { fuzzStoreLocation(input) }
}
