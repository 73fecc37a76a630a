#define _GNU_SOURCE
#include "CSandboxSupport.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/// A TCP socket created inside the network namespace `netns_fd` (-1: this thread's own), or -errno. A socket
/// belongs to the namespace it was created in; only socket() has to happen inside.
static int socket_in_namespace(int netns_fd) {
    if (netns_fd < 0) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        return fd < 0 ? -errno : fd;
    }
    int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (own < 0) return -errno;
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
        int error = errno;
        close(own);
        return -error;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int error = errno;
    // A thread left in an agent's namespace would send the gateway's later traffic there: never continue.
    if (setns(own, CLONE_NEWNET) != 0) abort();
    close(own);
    return fd < 0 ? -error : fd;
}

int pcs_connect_loopback(int netns_fd, uint16_t port, int timeout_ms) {
    int fd = socket_in_namespace(netns_fd);
    if (fd < 0) return fd;
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        if (errno != EINPROGRESS) {
            int error = errno;
            close(fd);
            return -error;
        }
        struct pollfd waiting = {.fd = fd, .events = POLLOUT};
        int ready;
        do {
            ready = poll(&waiting, 1, timeout_ms);
        } while (ready < 0 && errno == EINTR);
        if (ready <= 0) {
            int error = ready == 0 ? ETIMEDOUT : errno;
            close(fd);
            return -error;
        }
        int error = 0;
        socklen_t length = sizeof(error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
        if (error != 0) {
            close(fd);
            return -error;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int pcs_listen_loopback(int netns_fd, uint16_t port, int backlog) {
    int fd = socket_in_namespace(netns_fd);
    if (fd < 0) return fd;
    int error;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(fd, backlog) != 0) {
        error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

int pcs_spawn(const char *path, char *const argv[], char *const envp[], const int *parent_fds, const int *child_fds,
              int fd_count, const char *directory, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    // Parent descriptors may sit on the child numbers: move every one above them first, then into place.
    int highest = 2;
    for (int i = 0; i < fd_count; i++) {
        if (child_fds[i] > highest) highest = child_fds[i];
        if (parent_fds[i] > highest) highest = parent_fds[i];
    }
    for (int i = 0; i < fd_count && result == 0; i++) {
        result = posix_spawn_file_actions_adddup2(&actions, parent_fds[i], highest + 1 + i);
    }
    // Nothing below the highest child number stays by accident (a descriptor without close-on-exec): every one is
    // closed before the listed ones are put in place. Closing a number that is not open is not an error here.
    for (int fd = 3; fd <= highest && result == 0; fd++) {
        result = posix_spawn_file_actions_addclose(&actions, fd);
    }
    for (int i = 0; i < fd_count && result == 0; i++) {
        result = posix_spawn_file_actions_adddup2(&actions, highest + 1 + i, child_fds[i]);
    }
    int lowest_unused = 0;
    for (int i = 0; i < fd_count; i++) {
        if (child_fds[i] + 1 > lowest_unused) lowest_unused = child_fds[i] + 1;
    }
    if (lowest_unused < 3) lowest_unused = 3;
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, lowest_unused);
    if (result == 0 && directory != NULL) result = posix_spawn_file_actions_addchdir_np(&actions, directory);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &none);
    if (result == 0)
        result = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int pcs_open_directory_path(const char *path) { return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC); }

int pcs_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int pcs_open_path(const char *path) { return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC); }

int pcs_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno; }

int pcs_memory_file(const char *name, int64_t size) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    if (ftruncate(fd, (off_t)size) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

static const int every_seal = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

int pcs_seal_memory_file(int fd) { return fcntl(fd, F_ADD_SEALS, every_seal) == 0 ? 0 : -errno; }

int pcs_memory_file_is_sealed(int fd) {
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) return -errno;
    return (seals & every_seal) == every_seal ? 1 : 0;
}

int pcs_socket_pair(int fds[2]) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0 ? 0 : -errno; }

int64_t pcs_send_with_descriptor(int socket, const void *bytes, int64_t length, int passed) {
    struct iovec vector = {.iov_base = (void *)bytes, .iov_len = (size_t)length};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof(control));
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof(control.space)};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &passed, sizeof(int));
    ssize_t sent;
    do {
        sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent < 0 ? -errno : (int64_t)sent;
}
