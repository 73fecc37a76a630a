/// One element of a `like` pattern.
enum PatternElement: Hashable, Sendable {
    case literal(Unicode.Scalar)
    case wildcard
}

/// A `like` pattern: literal Unicode scalars and `*` wildcards matching any run of scalars.
struct Pattern: Hashable, Sendable {
    let elements: [PatternElement]

    /// Whether the whole of `text` matches, comparing Unicode scalars as Cedar does.
    func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        var textIndex = 0
        var patternIndex = 0
        // Where the last wildcard was seen, and the text position it currently absorbs up to.
        var starPattern = -1
        var starText = 0
        while textIndex < scalars.count {
            if patternIndex < elements.count, case .literal(let scalar) = elements[patternIndex], scalar == scalars[textIndex] {
                textIndex += 1
                patternIndex += 1
            } else if patternIndex < elements.count, elements[patternIndex] == .wildcard {
                starPattern = patternIndex
                starText = textIndex
                patternIndex += 1
            } else if starPattern >= 0 {
                starText += 1
                textIndex = starText
                patternIndex = starPattern + 1
            } else {
                return false
            }
        }
        while patternIndex < elements.count, elements[patternIndex] == .wildcard { patternIndex += 1 }
        return patternIndex == elements.count
    }
}
