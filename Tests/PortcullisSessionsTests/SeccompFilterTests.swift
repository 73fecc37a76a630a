@testable import PortcullisSessions
import Testing

/// Runs the filter's classic BPF program on a `seccomp_data` the way the kernel does, so every branch is checked
/// without a sandbox (the sandbox tests check the same filter inside a real one).
struct SeccompInterpreter {
    let program: [UInt8]

    struct Call {
        var number: UInt32
        var arch: UInt32 = 0xC000_003E
        var firstArgument: UInt64 = 0
    }

    func run(_ call: Call) -> UInt32 {
        var data = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt32, at offset: Int) { withUnsafeBytes(of: value) { data.replaceSubrange(offset..<offset + 4, with: $0) } }
        put(call.number, at: 0)
        put(call.arch, at: 4)
        put(UInt32(truncatingIfNeeded: call.firstArgument), at: 16)
        put(UInt32(truncatingIfNeeded: call.firstArgument >> 32), at: 20)
        var accumulator: UInt32 = 0
        var pc = 0
        let count = program.count / 8
        while pc < count {
            let base = pc * 8
            let code = UInt16(program[base]) | UInt16(program[base + 1]) << 8
            let jumpTrue = Int(program[base + 2])
            let jumpFalse = Int(program[base + 3])
            let value = program[base + 4..<base + 8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            pc += 1
            switch code {
            case 0x20: accumulator = data[Int(value)..<Int(value) + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            case 0x15: pc += accumulator == value ? jumpTrue : jumpFalse
            case 0x45: pc += accumulator & value != 0 ? jumpTrue : jumpFalse
            case 0x05: pc += Int(value)
            case 0x06: return value
            default: Issue.record("unknown opcode \(code)"); return 0
            }
        }
        Issue.record("the program fell off its end")
        return 0
    }
}

@Suite("The sandbox's seccomp filter")
struct SeccompFilterTests {
    let filter = SeccompInterpreter(program: SeccompFilter(table: .x86_64).program)
    let eperm = SeccompFilter.errno(1)

    @Test("every refused call answers EPERM; ordinary calls are allowed")
    func refusedAndAllowed() {
        for number in SeccompFilter.SystemCallTable.x86_64.refused {
            #expect(filter.run(.init(number: number)) == eperm, "call \(number)")
        }
        // read, write, openat, mmap, socket(AF_INET), connect, futex, exit_group.
        for number: UInt32 in [0, 1, 257, 9, 42, 202, 231] {
            #expect(filter.run(.init(number: number)) == SeccompFilter.allow, "call \(number)")
        }
    }

    @Test("clone with a namespace flag is refused, a plain fork or thread is not; clone3 answers ENOSYS")
    func cloneFlags() {
        #expect(filter.run(.init(number: 56, firstArgument: 0x1200011)) == SeccompFilter.allow)  // fork-style clone
        #expect(filter.run(.init(number: 56, firstArgument: 0x3D0F00)) == SeccompFilter.allow)  // pthread_create
        #expect(filter.run(.init(number: 56, firstArgument: 0x1000_0011)) == eperm)  // CLONE_NEWUSER
        #expect(filter.run(.init(number: 56, firstArgument: 0x4000_0011)) == eperm)  // CLONE_NEWNET
        #expect(filter.run(.init(number: 435)) == SeccompFilter.errno(38))
    }

    @Test("netlink and packet sockets are refused, internet and unix sockets are not")
    func socketFamilies() {
        #expect(filter.run(.init(number: 41, firstArgument: 16)) == SeccompFilter.errno(97))
        #expect(filter.run(.init(number: 41, firstArgument: 17)) == SeccompFilter.errno(97))
        #expect(filter.run(.init(number: 41, firstArgument: 2)) == SeccompFilter.allow)
        #expect(filter.run(.init(number: 41, firstArgument: 1)) == SeccompFilter.allow)
    }

    @Test("another architecture or the x32 ABI kills the process")
    func foreignABIs() {
        #expect(filter.run(.init(number: 0, arch: 0x4000_0003)) == SeccompFilter.killProcess)  // i386
        #expect(filter.run(.init(number: 0x4000_0000 | 1)) == SeccompFilter.killProcess)  // x32 write
    }
}
