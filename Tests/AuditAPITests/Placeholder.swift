import XCTest; import HummingbirdTesting
