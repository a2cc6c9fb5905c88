/* The legacy x86-64 poll(2) and select(2) on a pipe, and epoll's packed 12-byte
 * epoll_event, under xlat vs natively. */
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    int p[2];
    if (pipe(p)) return 1;
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    long r = syscall(SYS_poll, fds, 2, 0);
    printf("poll %ld %x %x\n", r, fds[0].revents, fds[1].revents);
    write(p[1], "x", 1);
    r = syscall(SYS_poll, fds, 2, 100);
    printf("poll %ld %x %x\n", r, fds[0].revents, fds[1].revents);
    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(p[0], &rs);
    FD_SET(p[1], &ws);
    struct timeval tv = {1, 0};
    r = syscall(SYS_select, p[1] + 1, &rs, &ws, NULL, &tv);
    printf("select %ld %d %d\n", r, FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws));
    char c;
    read(p[0], &c, 1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    tv.tv_sec = 0;
    tv.tv_usec = 1000;
    r = syscall(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select %ld %d %ld\n", r, FD_ISSET(p[0], &rs), (long)tv.tv_usec);
    int ep = epoll_create1(0);
    struct epoll_event ev[3] = {{EPOLLIN, {.u64 = 0x1122334455667788ULL}},
                                {EPOLLOUT, {.u64 = 0x99aabbccddeeff00ULL}}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev[0]);
    epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev[1]);
    write(p[1], "y", 1);
    struct epoll_event out[4] = {0};
    int n = epoll_wait(ep, out, 4, 100);
    printf("epoll %d sizeof %zu\n", n, sizeof(struct epoll_event));
    for (int i = 0; i < n; i++) printf("  %x %llx\n", out[i].events, (unsigned long long)out[i].data.u64);
    return 0;
}
