/// Detects RSA moduli generated with the flaw known as ROCA (CVE-2017-15361, Infineon RSALib), whose private keys
/// can be recovered by factoring.
///
/// Such primes have the form `k·M + (65537^a mod M)` with `M` a primorial, so the modulus, reduced by any small
/// prime `r` dividing `M`, lies in the subgroup that 65537 generates modulo `r`. Random moduli pass that test for
/// all of these primes together with negligible probability.
enum RSAModulusCheck {
    static let primes: [UInt32] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109,
        113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ]

    /// For each prime, the residues 65537 generates.
    static let subgroups: [Set<UInt32>] = primes.map { prime in
        var members: Set<UInt32> = [1]
        let generator = 65537 % prime
        var power = generator
        while power != 1 {
            members.insert(power)
            power = power * generator % prime
        }
        return members
    }

    /// Whether the big-endian `modulus` carries the ROCA fingerprint.
    static func hasROCAFingerprint(_ modulus: [UInt8]) -> Bool {
        for (index, prime) in primes.enumerated() {
            var remainder: UInt32 = 0
            for byte in modulus {
                remainder = (remainder << 8 | UInt32(byte)) % prime
            }
            if !subgroups[index].contains(remainder) { return false }
        }
        return true
    }
}
