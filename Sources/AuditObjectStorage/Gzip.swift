import CompressNIO
import NIOCore

/// Gzip (RFC 1952) over zlib, for delivery files: the output is what `gunzip` and Python's `gzip`
/// module read, and `decompress` reads what they write (including concatenated members).
public enum Gzip {
    /// The two bytes every gzip member starts with.
    public static let magic: [UInt8] = [0x1F, 0x8B]

    /// The default bound of ``decompress(_:maxSize:)``: a delivery file is far smaller, so anything
    /// bigger is a mistake or a decompression bomb.
    public static let defaultMaxDecompressedSize = 1 << 30

    /// Compresses `bytes` into one gzip member.
    ///
    /// - Parameter level: zlib level, 1 (fastest) to 9 (smallest); 0 stores without compressing.
    ///   Values outside 0...9 are clamped.
    public static func compress(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
        let compressor = Compressor(level: level)
        compressor.append(bytes)
        return compressor.finish()
    }

    /// Decompresses gzip data: one member, or several concatenated (as `cat a.gz b.gz` makes).
    ///
    /// - Parameter maxSize: the largest output accepted.
    /// - Throws: ``GzipError`` when the data is not gzip, is corrupt (bad CRC, bad length), is
    ///   truncated, or would decompress to more than `maxSize` bytes.
    public static func decompress(_ bytes: [UInt8], maxSize: Int = defaultMaxDecompressedSize) throws -> [UInt8] {
        guard !bytes.isEmpty else { throw GzipError(.truncated, "gzip data is empty") }
        guard bytes.starts(with: magic) else { throw GzipError(.corrupt, "data does not start with the gzip magic bytes 1f 8b") }
        let decompressor: ZlibDecompressor
        do {
            decompressor = try ZlibDecompressor(algorithm: .gzip)
        } catch {
            throw GzipError(.corrupt, "zlib could not start a gzip stream (\(error))")
        }
        var input = ByteBuffer(bytes: bytes)
        var output = ByteBuffer()
        output.reserveCapacity(min(maxSize, max(bytes.count * 4, 4096)))
        while true {
            if output.writableBytes == 0 {
                guard output.readableBytes < maxSize else { throw tooLarge(maxSize) }
                output.reserveCapacity(min(maxSize, output.capacity * 2))
            }
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                continue  // output full: grow it and go on
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                throw GzipError(.truncated, "gzip data ends before the end of its stream")
            } catch {
                throw GzipError(.corrupt, "gzip data is corrupt (\(error))")
            }
            if input.readableBytes > 0 {
                // A normal return with input left means zlib reached the end of a member: the rest is
                // another member (zlib rejects anything that is not one).
                do {
                    try decompressor.reset()
                } catch {
                    throw GzipError(.corrupt, "zlib could not start the next gzip member (\(error))")
                }
                continue
            }
            // All input consumed: either the member ended exactly here, or the data is truncated, and
            // zlib's return does not say which. Probe with one extra byte: a finished stream answers
            // Z_STREAM_END without consuming it; an unfinished one consumes it or fails.
            guard try isFinished(decompressor, output: &output) else {
                throw GzipError(.truncated, "gzip data ends before the end of its stream")
            }
            // The buffer may have grown past the bound by the allocator's rounding.
            guard output.readableBytes <= maxSize else { throw tooLarge(maxSize) }
            return Array(output.readableBytesView)
        }
    }

    private static func tooLarge(_ maxSize: Int) -> GzipError {
        GzipError(.tooLarge, "gzip data decompresses to more than \(maxSize) bytes")
    }

    private static func isFinished(_ decompressor: ZlibDecompressor, output: inout ByteBuffer) throws -> Bool {
        var probe = ByteBuffer(bytes: [0])
        var scratch = ByteBuffer()
        scratch.reserveCapacity(64)
        do {
            try decompressor.inflate(from: &probe, to: &scratch)
        } catch {
            return false
        }
        return probe.readableBytes == 1 && scratch.readableBytes == 0
    }

    /// Gzip compression fed in pieces, so a file can be built without holding its uncompressed form:
    /// `append` each piece, then `finish` once. Not thread-safe; use one per file.
    public final class Compressor {
        private let zlib: ZlibCompressor
        private var output = ByteBuffer()
        private var finished = false

        /// - Parameter level: zlib level 0...9 (clamped), as in ``Gzip/compress(_:level:)``.
        public init(level: Int = 6) {
            let configuration = ZlibConfiguration(
                windowSize: Int32(15), compressionLevel: Int32(min(max(level, 0), 9)), memoryLevel: Int32(8), strategy: .default)
            do {
                zlib = try ZlibCompressor(algorithm: .gzip, configuration: configuration)
            } catch {
                // Only Z_MEM_ERROR is possible with these valid parameters.
                fatalError("zlib could not allocate a gzip compressor: \(error)")
            }
        }

        /// The compressed bytes produced so far (the complete file once ``finish()`` returned).
        public var compressedCount: Int { output.readableBytes }

        /// Compresses the next piece of the input.
        public func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            precondition(!finished, "Gzip.Compressor.append after finish")
            guard !bytes.isEmpty else { return }
            var input = ByteBuffer(bytes: bytes)
            while input.readableBytes > 0 {
                deflate(&input, flush: .no)
            }
        }

        /// Ends the stream (writes the CRC and length trailer) and returns the whole gzip member.
        public func finish() -> [UInt8] {
            if !finished {
                var empty = ByteBuffer()
                empty.reserveCapacity(16)  // a real allocation, so zlib gets a valid (empty) input pointer
                deflate(&empty, flush: .finish)
                finished = true
            }
            return Array(output.readableBytesView)
        }

        /// Runs deflate until it accepted `input` (or, with `.finish`, wrote the trailer), growing the
        /// output whenever zlib reports it full.
        private func deflate(_ input: inout ByteBuffer, flush: CompressNIOFlush) {
            while true {
                let bound = zlib.maxSize(from: input)
                if output.writableBytes < bound {
                    output.reserveCapacity(output.writerIndex + max(bound, 64 * 1024))
                }
                do {
                    try zlib.deflate(from: &input, to: &output, flush: flush)
                    if flush == .finish || input.readableBytes == 0 { return }
                } catch let error as CompressNIOError where error == .bufferOverflow {
                    output.reserveCapacity(output.capacity * 2)
                } catch {
                    // Deflate fails only on a programming error (stream state) or memory exhaustion.
                    fatalError("zlib deflate failed: \(error)")
                }
            }
        }
    }
}

/// Why gzip data could not be decompressed.
public struct GzipError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not gzip, or the checksum, length or deflate data is wrong.
        case corrupt
        /// The data stops before the end of the gzip stream.
        case truncated
        /// The output would exceed the caller's bound.
        case tooLarge
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
