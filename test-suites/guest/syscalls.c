/* The syscalls coreutils, bash and python use, with their struct layouts: poll/ppoll,
 * pselect6, epoll (epoll_event is 16 bytes on riscv64, packed 12 on x86-64), eventfd,
 * timerfd, signalfd, unix and loopback TCP/UDP sockets (sendmsg/recvmsg with SCM_RIGHTS),
 * statfs/fstatfs, fchownat, fchmod, fsync, ftruncate, fallocate, sched_getaffinity,
 * sched_yield, getrusage, times, prctl, getcpu, memfd_create, copy_file_range, sendfile,
 * splice, inotify, capget. Prints only values that do not depend on the machine. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x) do { if ((x) < 0) printf("  FAILED %s: %s\n", #x, strerror(errno)); } while (0)

static void polls(void) {
    int p[2];
    pipe(p);
    struct pollfd pf[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    printf("poll: %d in=%d out=%d\n", poll(pf, 2, 0), pf[0].revents, pf[1].revents);
    write(p[1], "z", 1);
    struct timespec ts = {0, 1000000};
    sigset_t m;
    sigemptyset(&m);
    printf("ppoll: %d in=%d\n", ppoll(pf, 1, &ts, &m), pf[0].revents);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    printf("pselect: %d set=%d\n", pselect(p[0] + 1, &r, NULL, NULL, &ts, &m), FD_ISSET(p[0], &r));
    struct timeval tv = {0, 1000};
    FD_ZERO(&r);
    FD_SET(p[1], &r);
    printf("select timeout: %d\n", select(p[1] + 1, &r, NULL, NULL, &tv));

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ull};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    struct epoll_event out[4];
    memset(out, 0xee, sizeof out);
    int n = epoll_wait(ep, out, 4, 100);
    printf("epoll: n=%d events=%x data=%llx next=%x sizeof=%zu\n", n, out[0].events,
           (unsigned long long)out[0].data.u64, out[1].events, sizeof(struct epoll_event));
    n = epoll_pwait(ep, out, 4, 0, &m);
    printf("epoll_pwait: %d\n", n);
    char c;
    read(p[0], &c, 1);
    printf("epoll after drain: %d\n", epoll_wait(ep, out, 4, 0));
    close(ep);

    int e = eventfd(3, EFD_NONBLOCK);
    uint64_t v = 4;
    write(e, &v, 8);
    read(e, &v, 8);
    printf("eventfd: %llu then %s\n", (unsigned long long)v, read(e, &v, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    close(e);

    int t = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{0, 0}, {0, 5000000}}, cur;
    CHECK(timerfd_settime(t, 0, &its, NULL));
    timerfd_gettime(t, &cur);
    printf("timerfd armed: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0);
    read(t, &v, 8);
    printf("timerfd expirations: %llu\n", (unsigned long long)v);
    close(t);

    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sf = signalfd(-1, &s, 0);
    raise(SIGUSR1);
    struct signalfd_siginfo si;
    printf("signalfd: %zd bytes signo=%u pid ok=%d\n", read(sf, &si, sizeof si), si.ssi_signo, si.ssi_pid == (uint32_t)getpid());
    close(sf);
}

static void sockets(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int p[2];
    pipe(p);
    char data[] = "hello fd";
    struct iovec iov = {data, sizeof data};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr mh = {0};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
    printf("sendmsg: %zd\n", sendmsg(sv[0], &mh, 0));
    char rbuf[32] = {0};
    struct iovec riov = {rbuf, sizeof rbuf};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ru;
    struct msghdr rh = {0};
    rh.msg_iov = &riov;
    rh.msg_iovlen = 1;
    rh.msg_control = ru.buf;
    rh.msg_controllen = sizeof ru.buf;
    ssize_t n = recvmsg(sv[1], &rh, 0);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rh);
    int got = -1;
    if (rc && rc->cmsg_type == SCM_RIGHTS) memcpy(&got, CMSG_DATA(rc), sizeof got);
    write(got, "!", 1);
    char c = 0;
    read(p[0], &c, 1);
    printf("recvmsg: %zd '%s' passed fd works=%d controllen=%zu\n", n, rbuf, c == '!', (size_t)rh.msg_controllen);
    shutdown(sv[0], SHUT_WR);
    printf("after shutdown: read=%zd\n", read(sv[1], rbuf, 1));

    /* A named unix socket. */
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    snprintf(ua.sun_path, sizeof ua.sun_path, "/tmp/xlat-sock-%d", getpid());
    unlink(ua.sun_path);
    CHECK(bind(ls, (struct sockaddr *)&ua, sizeof ua));
    CHECK(listen(ls, 1));
    int cs = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(cs, (struct sockaddr *)&ua, sizeof ua));
    int as = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    write(cs, "unix", 4);
    memset(rbuf, 0, sizeof rbuf);
    read(as, rbuf, sizeof rbuf);
    printf("unix socket: '%s' cloexec=%d\n", rbuf, (fcntl(as, F_GETFD) & FD_CLOEXEC) != 0);
    unlink(ua.sun_path);

    /* TCP on loopback. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    CHECK(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    int val = 0;
    socklen_t vl = sizeof val;
    getsockopt(t, SOL_SOCKET, SO_REUSEADDR, &val, &vl);
    printf("SO_REUSEADDR=%d len=%u\n", val != 0, vl);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(t, (struct sockaddr *)&sa, sizeof sa));
    CHECK(listen(t, 4));
    socklen_t sl = sizeof sa;
    getsockname(t, (struct sockaddr *)&sa, &sl);
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c2, (struct sockaddr *)&sa, sizeof sa));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int a2 = accept(t, (struct sockaddr *)&peer, &pl);
    printf("tcp accept: peer is loopback=%d len=%u\n", peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), pl);
    struct sockaddr_in pn;
    pl = sizeof pn;
    getpeername(c2, (struct sockaddr *)&pn, &pl);
    printf("getpeername port matches=%d\n", pn.sin_port == sa.sin_port);
    sendto(c2, "tcp data", 8, 0, NULL, 0);
    memset(rbuf, 0, sizeof rbuf);
    recvfrom(a2, rbuf, sizeof rbuf, 0, NULL, NULL);
    printf("tcp: '%s'\n", rbuf);

    /* UDP on loopback. */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ub = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u1, (struct sockaddr *)&ub, sizeof ub);
    sl = sizeof ub;
    getsockname(u1, (struct sockaddr *)&ub, &sl);
    sendto(u2, "dgram", 5, 0, (struct sockaddr *)&ub, sizeof ub);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    memset(rbuf, 0, sizeof rbuf);
    n = recvfrom(u1, rbuf, sizeof rbuf, 0, (struct sockaddr *)&from, &fl);
    printf("udp: %zd '%s' from loopback=%d\n", n, rbuf, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
}

static void files(void) {
    char dir[] = "/tmp/xlat-sys-XXXXXX";
    mkdtemp(dir);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    int fd = openat(d, "f", O_RDWR | O_CREAT, 0600);
    struct statfs a, b;
    CHECK(statfs(dir, &a));
    CHECK(fstatfs(fd, &b));
    printf("statfs: same fs=%d bsize ok=%d\n", a.f_type == b.f_type && a.f_fsid.__val[0] == b.f_fsid.__val[0], a.f_bsize > 0);
    CHECK(fchownat(d, "f", getuid(), getgid(), 0));
    CHECK(fchmod(fd, 0640));
    struct stat st;
    fstat(fd, &st);
    printf("fchmod: %o\n", st.st_mode & 0777);
    write(fd, "0123456789", 10);
    CHECK(fsync(fd));
    CHECK(ftruncate(fd, 4));
    fstat(fd, &st);
    printf("ftruncate: %lld\n", (long long)st.st_size);
    int fa = fallocate(fd, 0, 0, 8192);
    fstat(fd, &st);
    printf("fallocate: %s size=%lld\n", fa == 0 ? "ok" : (errno == EOPNOTSUPP ? "EOPNOTSUPP" : "?"), fa == 0 ? (long long)st.st_size : 8192LL);

    int m = memfd_create("xlat", MFD_CLOEXEC);
    write(m, "memfd contents", 14);
    off_t off = 0;
    int out = openat(d, "copy", O_RDWR | O_CREAT, 0600);
    printf("sendfile: %zd\n", sendfile(out, m, &off, 5));
    int c2 = openat(d, "copy2", O_RDWR | O_CREAT, 0600);
    pwrite(c2, " contents", 9, 0);
    loff_t oi = 0, oo = 5;
    printf("copy_file_range: %zd\n", copy_file_range(c2, &oi, out, &oo, 9, 0));
    unlinkat(d, "copy2", 0);
    int p[2];
    pipe(p);
    loff_t so = 0;
    printf("splice file->pipe: %zd\n", splice(out, &so, p[1], NULL, 13, 0));
    char buf[32] = {0};
    read(p[0], buf, sizeof buf);
    printf("spliced: '%s'\n", buf);

    int in = inotify_init1(IN_NONBLOCK);
    int wd = inotify_add_watch(in, dir, IN_CREATE);
    close(openat(d, "new", O_CREAT | O_WRONLY, 0600));
    char ibuf[256];
    ssize_t n = read(in, ibuf, sizeof ibuf);
    struct inotify_event *ie = (struct inotify_event *)ibuf;
    printf("inotify: wd ok=%d got=%d mask=%x name=%s\n", wd > 0, n > 0, n > 0 ? ie->mask : 0, n > 0 ? ie->name : "");
    unlinkat(d, "f", 0);
    unlinkat(d, "copy", 0);
    unlinkat(d, "new", 0);
    rmdir(dir);
}

static void misc(void) {
    cpu_set_t cs;
    CPU_ZERO(&cs);
    CHECK(sched_getaffinity(0, sizeof cs, &cs));
    printf("sched_getaffinity: >=1 cpu %d\n", CPU_COUNT(&cs) >= 1);
    printf("sched_yield: %d\n", sched_yield());
    struct rusage ru;
    printf("getrusage: %d maxrss>0 %d\n", getrusage(RUSAGE_SELF, &ru), ru.ru_maxrss > 0);
    struct tms t;
    printf("times: ok=%d\n", times(&t) != (clock_t)-1);
    prctl(PR_SET_NAME, "xlat-test");
    char name[16] = {0};
    prctl(PR_GET_NAME, name);
    printf("prctl name: %s\n", name);
    unsigned cpu = 9999, node = 9999;
    printf("getcpu: %d in range=%d\n", (int)syscall(SYS_getcpu, &cpu, &node, NULL), cpu < 4096);
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct cd[2];
    printf("capget: %d\n", (int)syscall(SYS_capget, &h, cd));
    struct __user_cap_header_struct probe = {0, 0};
    syscall(SYS_capget, &probe, NULL);
    printf("capget version probe: %x\n", probe.version);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    polls();
    sockets();
    files();
    misc();
    return 0;
}
