#ifndef CSANDBOXSUPPORT_H
#define CSANDBOXSUPPORT_H

#include <stdint.h>
#include <sys/types.h>

/// Creates a TCP socket inside the network namespace `netns_fd` (-1: this thread's own) and connects it to
/// 127.0.0.1:`port` there, waiting at most `timeout_ms`. Returns the connected, non-blocking, close-on-exec socket,
/// or -errno. The calling thread is back in its own namespace when this returns.
int pcs_connect_loopback(int netns_fd, uint16_t port, int timeout_ms);

/// Creates a TCP socket inside the network namespace `netns_fd`, bound to 127.0.0.1:`port` there and listening.
/// Returns the non-blocking, close-on-exec socket, or -errno. Only processes in that namespace can connect to it,
/// while the caller accepts on it from its own.
int pcs_listen_loopback(int netns_fd, uint16_t port, int backlog);

/// posix_spawn with only the listed descriptors: `child_fds[i]` in the child is `parent_fds[i]` of the caller; every
/// other descriptor is closed (one by one up to the highest number involved, then `closefrom`, so the cost does not
/// grow with the caller's open descriptors). Signal
/// dispositions and the mask are reset, the child starts a new session (its process group is its pid), and enters
/// `directory` first unless it is NULL. Returns 0 and sets `*pid`, or an errno value.
int pcs_spawn(const char *path, char *const argv[], char *const envp[], const int *parent_fds, const int *child_fds,
              int fd_count, const char *directory, pid_t *pid);

/// `open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)`: a handle on a directory that grants no access of its own.
int pcs_open_directory_path(const char *path);

/// `open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)`: a handle on any file (a link itself, not its target).
int pcs_open_path(const char *path);

/// Makes this process the reaper of its orphaned descendants (`PR_SET_CHILD_SUBREAPER`). Returns 0 or -errno.
int pcs_become_subreaper(void);

/// `pipe2(fds, O_CLOEXEC)`.
int pcs_pipe_cloexec(int fds[2]);

/// An anonymous memory file (`memfd_create`) of `size` bytes whose seals can be added later, close-on-exec.
/// Returns the descriptor or -errno.
int pcs_memory_file(const char *name, int64_t size);

/// Seals a memory file against every change (`F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`): it can
/// still be mapped privately (copy-on-write), never written. Fails (-EBUSY) while a writable shared mapping exists.
/// Returns 0 or -errno.
int pcs_seal_memory_file(int fd);

/// Whether `fd` carries every seal of ``pcs_seal_memory_file``: 1, 0, or -errno.
int pcs_memory_file_is_sealed(int fd);

/// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`. Returns 0 or -errno.
int pcs_socket_pair(int fds[2]);

/// Sends `length` bytes on the stream socket `socket` with the descriptor `passed` attached (`SCM_RIGHTS`), in one
/// `sendmsg`. Returns the bytes sent or -errno.
int64_t pcs_send_with_descriptor(int socket, const void *bytes, int64_t length, int passed);

#endif
