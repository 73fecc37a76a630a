/// Decodes the escapes Cedar allows in string literals: `\n \r \t \\ \0 \' \"` and `\u{hex}`.
///
/// Returns nil for any other escape so the caller can report the literal's position.
/// With `allowStar`, `\*` is kept as the two-scalar marker patterns need.
func unescapeCedarString(_ raw: String, allowStar: Bool = false) -> [PatternElement]? {
    var result: [PatternElement] = []
    let scalars = Array(raw.unicodeScalars)
    var index = 0
    while index < scalars.count {
        let scalar = scalars[index]
        if scalar == "*" && allowStar {
            result.append(.wildcard)
            index += 1
            continue
        }
        guard scalar == "\\" else {
            result.append(.literal(scalar))
            index += 1
            continue
        }
        guard index + 1 < scalars.count else { return nil }
        let escape = scalars[index + 1]
        index += 2
        switch escape {
        case "n": result.append(.literal("\n"))
        case "r": result.append(.literal("\r"))
        case "t": result.append(.literal("\t"))
        case "0": result.append(.literal("\0"))
        case "\\", "'", "\"": result.append(.literal(escape))
        case "*" where allowStar: result.append(.literal("*"))
        case "u":
            guard index < scalars.count, scalars[index] == "{" else { return nil }
            var hex = ""
            index += 1
            while index < scalars.count, scalars[index] != "}" {
                hex.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard index < scalars.count, (1...6).contains(hex.count),
                  let code = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(code) else { return nil }
            result.append(.literal(decoded))
            index += 1
        default:
            return nil
        }
    }
    return result
}

/// Decodes a plain string literal (no wildcards), or nil for an invalid escape.
func unescapeCedarPlainString(_ raw: String) -> String? {
    guard let elements = unescapeCedarString(raw) else { return nil }
    var view = String.UnicodeScalarView()
    for case .literal(let scalar) in elements { view.append(scalar) }
    return String(view)
}
