import Foundation

/// Wall-clock Unix seconds.
public func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }
