import ArgumentParser
import AuditDelivery
import AuditIntegrity
import AuditStore
import Foundation
import Logging

/// `cloudaudit decrypt FILE`: reverses the envelope of a delivered `.enc` file with the deployment's keys.
struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt",
        abstract: "Decrypt a delivered .enc file: writes the file as it would have been delivered unencrypted.",
        discussion: """
            The file names its KMS key; the key is read from the data directory's database and unsealed with
            the deployment master key (CLOUDAUDIT_MASTER_KEY or <data-dir>/master.key), so run it with the
            deployment's --data-dir. The output is the gzip (or the JSON lines) as delivered; --gunzip also
            decompresses it. A disabled key refuses decryption until `cloudaudit kms enable`.
            """)
    @OptionGroup var options: DataDirOptions
    @Argument(help: "The encrypted file (.enc).") var file: String
    @Option(name: [.customShort("o"), .customLong("output")], help: "Write the plaintext to this file (default: standard output).") var output: String?
    @Flag(help: "Also decompress a gzip plaintext (a plain one is written as it is).") var gunzip = false
    @Flag(help: "Replace the -o file when it exists.") var force = false

    func run() async throws {
        try await reportingFailures {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            let bytes = Array(data)
            guard Envelope.isEnvelope(bytes) else {
                throw CommandFailure("\(file) is not an encrypted file (it does not start with CAENC); it can be read as it is")
            }
            _ = try Envelope.header(bytes)
            if let output, !force, FileManager.default.fileExists(atPath: output) {
                throw CommandFailure("\(output) exists; choose another -o file, or add --force to replace it")
            }
            let dir = options.directory
            let env = ProcessInfo.processInfo.environment
            if (env["CLOUDAUDIT_MASTER_KEY"] ?? "").isEmpty, !FileManager.default.fileExists(atPath: dir.masterKeyPath) {
                throw CommandFailure("no master key: \(dir.masterKeyPath) does not exist and CLOUDAUDIT_MASTER_KEY is not set; use the --data-dir of the deployment that encrypted the file")
            }
            guard FileManager.default.fileExists(atPath: dir.databasePath) else {
                throw CommandFailure("no deployment database at \(dir.databasePath); use the --data-dir of the deployment that encrypted the file")
            }

            let (store, _) = try options.open()
            let result: Result<[UInt8], Error>
            do {
                let vault = KeyVault(store: store, masterKey: try dir.masterKey(logger: .init(label: "cloudaudit")))
                result = .success(try await vault.decrypt(bytes))
            } catch {
                result = .failure(error)
            }
            try await store.close()
            var plain = try result.get()
            if gunzip, plain.starts(with: Gzip.magic) { plain = try Gzip.decompress(plain) }

            if let output {
                try writeOwnerOnly(output, plain)
            } else {
                if isatty(1) != 0, plain.starts(with: Gzip.magic) {
                    throw CommandFailure("the plaintext is gzip; add --gunzip, or write it to a file with -o")
                }
                FileHandle.standardOutput.write(Data(plain))
            }
        }
    }

    /// The plaintext is audit data: the file is created owner-only (0600).
    func writeOwnerOnly(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CommandFailure("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
}
