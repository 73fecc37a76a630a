/// The system-call filter every sandboxed agent runs under, as a classic BPF program for `bwrap --seccomp`.
///
/// Default allow, with the calls an agent never needs and that widen the kernel's attack surface refused: new
/// namespaces (`unshare`, `setns`, `clone` with namespace flags), mounts and the new mount API, `ptrace` and
/// cross-process memory access, keyrings, `bpf`, `perf_event_open`, kernel modules, kexec, `userfaultfd`,
/// `io_uring`, clock and swap changes, and netlink or packet sockets. `clone3` answers `ENOSYS`, so libc falls
/// back to `clone`, whose flags the filter can see. Calls from another ABI (x32, i386) kill the process.
///
/// Built here rather than with libseccomp so the gateway needs no C library at build time; the instruction set is
/// the kernel's (`linux/filter.h`, `linux/seccomp.h`).
public struct SeccompFilter: Sendable {
    /// The program, 8 bytes per instruction, in the machine's byte order.
    public let program: [UInt8]

    /// The filter for the machine the gateway runs on; `nil` where no system-call table is known (the bubblewrap
    /// driver then refuses to start: it never runs an agent without the filter).
    public static var forThisMachine: SeccompFilter? {
        #if arch(x86_64)
        SeccompFilter(table: .x86_64)
        #else
        nil
        #endif
    }

    struct SystemCallTable {
        var auditArch: UInt32
        /// Bit set in the numbers of a second ABI on the same architecture (x32 on x86_64).
        var foreignABIBit: UInt32?
        var refused: [UInt32]
        var clone: UInt32
        var clone3: UInt32
        var socket: UInt32

        static let x86_64 = SystemCallTable(
            auditArch: 0xC000_003E,
            foreignABIBit: 0x4000_0000,
            refused: [
                101,  // ptrace
                103,  // syslog
                134,  // uselib
                135,  // personality
                153,  // vhangup
                155,  // pivot_root
                159,  // adjtimex
                161,  // chroot
                163,  // acct
                164,  // settimeofday
                165,  // mount
                166,  // umount2
                167,  // swapon
                168,  // swapoff
                169,  // reboot
                172,  // iopl
                173,  // ioperm
                175,  // init_module
                176,  // delete_module
                179,  // quotactl
                180,  // nfsservctl
                212,  // lookup_dcookie
                227,  // clock_settime
                246,  // kexec_load
                248,  // add_key
                249,  // request_key
                250,  // keyctl
                272,  // unshare
                298,  // perf_event_open
                300,  // fanotify_init
                303,  // name_to_handle_at
                304,  // open_by_handle_at
                305,  // clock_adjtime
                308,  // setns
                310,  // process_vm_readv
                311,  // process_vm_writev
                312,  // kcmp
                313,  // finit_module
                320,  // kexec_file_load
                321,  // bpf
                323,  // userfaultfd
                425,  // io_uring_setup
                426,  // io_uring_enter
                427,  // io_uring_register
                428,  // open_tree
                429,  // move_mount
                430,  // fsopen
                431,  // fsconfig
                432,  // fsmount
                433,  // fspick
                438,  // pidfd_getfd
                442,  // mount_setattr
            ],
            clone: 56,
            clone3: 435,
            socket: 41
        )
    }

    // Classic BPF opcodes and seccomp return values.
    private static let loadWord: UInt16 = 0x20  // BPF_LD | BPF_W | BPF_ABS
    private static let jumpEqual: UInt16 = 0x15  // BPF_JMP | BPF_JEQ | BPF_K
    private static let jumpSet: UInt16 = 0x45  // BPF_JMP | BPF_JSET | BPF_K
    private static let jumpAlways: UInt16 = 0x05  // BPF_JMP | BPF_JA
    private static let ret: UInt16 = 0x06  // BPF_RET | BPF_K
    static let allow: UInt32 = 0x7FFF_0000
    static let killProcess: UInt32 = 0x8000_0000
    static func errno(_ value: UInt32) -> UInt32 { 0x0005_0000 | (value & 0xFFFF) }

    static let eperm: UInt32 = 1
    static let enosys: UInt32 = 38
    static let eafnosupport: UInt32 = 97
    /// `CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET`.
    static let namespaceFlags: UInt32 = 0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000 | 0x1000_0000 | 0x2000_0000 | 0x4000_0000
    static let refusedSocketFamilies: [UInt32] = [16, 17]  // AF_NETLINK, AF_PACKET

    private struct Instruction {
        var code: UInt16
        var jumpIfTrue: UInt8 = 0
        var jumpIfFalse: UInt8 = 0
        var value: UInt32
    }

    init(table: SystemCallTable) {
        // Offsets into struct seccomp_data: nr, arch, then 64-bit args (their low word first on little-endian).
        let numberOffset: UInt32 = 0
        let archOffset: UInt32 = 4
        let firstArgumentOffset: UInt32 = 16
        var code: [Instruction] = []
        code.append(Instruction(code: Self.loadWord, value: archOffset))
        code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: 1, jumpIfFalse: 0, value: table.auditArch))
        code.append(Instruction(code: Self.ret, value: Self.killProcess))
        code.append(Instruction(code: Self.loadWord, value: numberOffset))
        if let bit = table.foreignABIBit {
            code.append(Instruction(code: Self.jumpSet, jumpIfTrue: 0, jumpIfFalse: 1, value: bit))
            code.append(Instruction(code: Self.ret, value: Self.killProcess))
        }
        // The refused calls jump forward to one shared "EPERM" return after the list.
        let refused = table.refused
        for (position, number) in refused.enumerated() {
            code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: UInt8(refused.count - position), jumpIfFalse: 0, value: number))
        }
        code.append(Instruction(code: Self.jumpAlways, value: 1))
        code.append(Instruction(code: Self.ret, value: Self.errno(Self.eperm)))
        code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: 0, jumpIfFalse: 1, value: table.clone3))
        code.append(Instruction(code: Self.ret, value: Self.errno(Self.enosys)))
        code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: 0, jumpIfFalse: 4, value: table.clone))
        code.append(Instruction(code: Self.loadWord, value: firstArgumentOffset))
        code.append(Instruction(code: Self.jumpSet, jumpIfTrue: 0, jumpIfFalse: 1, value: Self.namespaceFlags))
        code.append(Instruction(code: Self.ret, value: Self.errno(Self.eperm)))
        code.append(Instruction(code: Self.ret, value: Self.allow))
        // Reached only by calls other than clone: the accumulator still holds the call number here.
        let families = Self.refusedSocketFamilies
        code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: 0, jumpIfFalse: UInt8(families.count + 1), value: table.socket))
        code.append(Instruction(code: Self.loadWord, value: firstArgumentOffset))
        for (position, family) in families.enumerated() {
            code.append(Instruction(code: Self.jumpEqual, jumpIfTrue: UInt8(families.count - position), jumpIfFalse: 0, value: family))
        }
        code.append(Instruction(code: Self.ret, value: Self.allow))
        code.append(Instruction(code: Self.ret, value: Self.errno(Self.eafnosupport)))
        precondition(code.count <= 4096, "a seccomp program holds at most 4096 instructions")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(code.count * 8)
        for instruction in code {
            withUnsafeBytes(of: instruction.code) { bytes.append(contentsOf: $0) }
            bytes.append(instruction.jumpIfTrue)
            bytes.append(instruction.jumpIfFalse)
            withUnsafeBytes(of: instruction.value) { bytes.append(contentsOf: $0) }
        }
        self.program = bytes
    }
}
