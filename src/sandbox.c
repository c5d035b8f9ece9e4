/*
 * sandbox.c: what confines a spawned server: the bounding and ambient
 * capability sets, no_new_privs, and seccomp filters for system calls and
 * socket address families. The names are checked when a file is parsed and
 * the filters are compiled to BPF when the configuration is checked, so
 * that the vfork child, which shares porterd's memory, only makes system
 * calls with what is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"

struct sandbox {
	bool no_new_privs;
	bool bounding;              /* drop what bound_keep lacks from the bounding set */
	uint64_t bound_keep;        /* capabilities kept, bit n for capability n */
	uint64_t ambient;           /* capabilities raised in the ambient set */
	int cap_last;               /* the kernel's highest capability */
	struct sock_fprog families; /* .len 0: none */
	struct sock_fprog syscalls; /* .len 0: none */
};

/* ------------------------------------------------------------ names */

/* Capability n is cap_names[n], as capabilities(7) writes it. */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int
sandbox_cap_number(const char *name)
{
	bool prefixed = strncasecmp(name, "CAP_", 4) == 0;

	for (int i = 0; i < NCAPS; i++)
		if (strcasecmp(name, cap_names[i] + (prefixed ? 0 : 4)) == 0)
			return i;
	return -1;
}

const char *
sandbox_cap_name(int n)
{
	return n >= 0 && n < NCAPS ? cap_names[n] : NULL;
}

static const struct {
	const char *name;
	int af;
} families[] = {
	{ "AF_UNIX", AF_UNIX },
	{ "AF_LOCAL", AF_LOCAL },
	{ "AF_INET", AF_INET },
	{ "AF_INET6", AF_INET6 },
	{ "AF_NETLINK", AF_NETLINK },
	{ "AF_PACKET", AF_PACKET },
	{ "AF_AX25", AF_AX25 },
	{ "AF_IPX", AF_IPX },
	{ "AF_APPLETALK", AF_APPLETALK },
	{ "AF_X25", AF_X25 },
	{ "AF_KEY", AF_KEY },
	{ "AF_RDS", AF_RDS },
	{ "AF_CAN", AF_CAN },
	{ "AF_TIPC", AF_TIPC },
	{ "AF_BLUETOOTH", AF_BLUETOOTH },
	{ "AF_ALG", AF_ALG },
	{ "AF_NFC", AF_NFC },
	{ "AF_VSOCK", AF_VSOCK },
	{ "AF_XDP", AF_XDP },
};

int
sandbox_family_number(const char *name)
{
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcasecmp(name, families[i].name) == 0)
			return families[i].af;
	return -1;
}

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM },
	{ "EACCES", EACCES },
	{ "ENOSYS", ENOSYS },
	{ "EINVAL", EINVAL },
	{ "ENOENT", ENOENT },
	{ "EIO", EIO },
	{ "EAGAIN", EAGAIN },
	{ "ENOMEM", ENOMEM },
	{ "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },
	{ "ENOTSUP", ENOTSUP },
	{ "EAFNOSUPPORT", EAFNOSUPPORT },
	{ "EROFS", EROFS },
};

int
sandbox_errno_number(const char *name)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcasecmp(name, errnos[i].name) == 0)
			return errnos[i].err;
	return -1;
}

const char *
sandbox_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

/* ------------------------------------------------------------ groups */

/*
 * The groups of system calls systemd.exec(5) names, with the meaning it
 * gives them. A group may name another; names unknown to libseccomp or to
 * this machine's architecture are passed over.
 */
static const struct {
	const char *name;
	const char *calls;
} groups[] = {
	{ "@aio",
	    "io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit "
	    "io_uring_enter io_uring_register io_uring_setup" },
	{ "@basic-io",
	    "_llseek close close_range dup dup2 dup3 lseek pread64 preadv preadv2 "
	    "pwrite64 pwritev pwritev2 read readv write writev" },
	{ "@chown", "chown chown32 fchown fchown32 fchownat lchown lchown32" },
	{ "@clock",
	    "adjtimex clock_adjtime clock_adjtime64 clock_settime clock_settime64 "
	    "settimeofday" },
	{ "@cpu-emulation", "modify_ldt subpage_prot switch_endian vm86 vm86old" },
	{ "@debug",
	    "lookup_dcookie perf_event_open pidfd_getfd ptrace rtas "
	    "s390_runtime_instr sys_debug_setcontext" },
	{ "@default",
	    "arch_prctl brk cacheflush clock_getres clock_getres_time64 clock_gettime "
	    "clock_gettime64 clock_nanosleep clock_nanosleep_time64 execve exit exit_group "
	    "futex futex_time64 futex_waitv get_robust_list get_thread_area getegid getegid32 "
	    "geteuid geteuid32 getgid getgid32 getgroups getgroups32 getpgid getpgrp getpid "
	    "getppid getrandom getresgid getresgid32 getresuid getresuid32 getrlimit getsid "
	    "gettid gettimeofday getuid getuid32 membarrier mmap mmap2 mprotect munmap nanosleep pause "
	    "prlimit64 restart_syscall riscv_flush_icache riscv_hwprobe rseq rt_sigreturn "
	    "sched_getaffinity sched_yield "
	    "set_robust_list set_thread_area set_tid_address set_tls sigreturn time "
	    "ugetrlimit uretprobe" },
	{ "@file-system",
	    "access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod "
	    "fchmodat fchmodat2 fcntl fcntl64 fgetxattr flistxattr fremovexattr fsetxattr fstat fstat64 "
	    "fstatat64 fstatfs fstatfs64 ftruncate ftruncate64 futimesat getcwd getdents "
	    "getdents64 getxattr inotify_add_watch inotify_init inotify_init1 "
	    "inotify_rm_watch lgetxattr link linkat listxattr llistxattr lremovexattr "
	    "lsetxattr lstat lstat64 mkdir mkdirat mknod mknodat newfstatat "
	    "oldfstat oldlstat oldstat open openat openat2 readlink readlinkat removexattr "
	    "rename renameat renameat2 rmdir setxattr stat stat64 statfs statfs64 statx "
	    "symlink symlinkat truncate truncate64 unlink unlinkat utime utimensat "
	    "utimensat_time64 utimes" },
	{ "@io-event",
	    "_newselect epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait "
	    "epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 poll ppoll ppoll_time64 "
	    "pselect6 pselect6_time64 select" },
	{ "@ipc",
	    "ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive "
	    "mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink msgctl "
	    "msgget msgrcv msgsnd pipe pipe2 process_madvise process_vm_readv "
	    "process_vm_writev semctl semget semop semtimedop semtimedop_time64 shmat "
	    "shmctl shmdt shmget" },
	{ "@keyring", "add_key keyctl request_key" },
	{ "@memlock", "mlock mlock2 mlockall munlock munlockall" },
	{ "@module", "delete_module finit_module init_module" },
	{ "@mount",
	    "chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount "
	    "open_tree pivot_root umount umount2" },
	{ "@network-io",
	    "accept accept4 bind connect getpeername getsockname getsockopt "
	    "listen recv recvfrom recvmmsg recvmmsg_time64 recvmsg send "
	    "sendmmsg sendmsg sendto setsockopt shutdown socket socketcall "
	    "socketpair" },
	{ "@obsolete",
	    "_sysctl afs_syscall bdflush break create_module ftime "
	    "get_kernel_syms getpmsg gtty idle lock mpx prof profil putpmsg "
	    "query_module security sgetmask ssetmask stime stty sysfs tuxcall "
	    "ulimit uselib ustat vserver" },
	{ "@privileged",
	    "@chown @clock @module @raw-io @reboot @swap _sysctl acct bpf capset chroot "
	    "fanotify_init fanotify_mark nfsservctl open_by_handle_at pivot_root quotactl quotactl_fd "
	    "setdomainname setfsuid setfsuid32 setgroups setgroups32 sethostname setresuid "
	    "setresuid32 setreuid setreuid32 setuid setuid32 vhangup" },
	{ "@process",
	    "capget clone clone3 execveat fork getrusage kill pidfd_open "
	    "pidfd_send_signal prctl rt_sigqueueinfo rt_tgsigqueueinfo setns "
	    "swapcontext tgkill times tkill unshare vfork wait4 waitid waitpid" },
	{ "@raw-io",
	    "ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write "
	    "s390_pci_mmio_read s390_pci_mmio_write" },
	{ "@reboot", "kexec_file_load kexec_load reboot" },
	{ "@resources",
	    "ioprio_set mbind migrate_pages move_pages nice sched_setaffinity "
	    "sched_setattr sched_setparam sched_setscheduler set_mempolicy set_mempolicy_home_node "
	    "setpriority setrlimit" },
	{ "@setuid",
	    "setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid "
	    "setresgid32 setresuid setresuid32 setreuid setreuid32 setuid setuid32" },
	{ "@signal",
	    "rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend "
	    "rt_sigtimedwait rt_sigtimedwait_time64 sigaction sigaltstack signal "
	    "signalfd signalfd4 sigpending sigprocmask sigsuspend" },
	{ "@swap", "swapoff swapon" },
	{ "@sync", "fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs" },
	{ "@timer",
	    "alarm getitimer setitimer timer_create timer_delete timer_getoverrun "
	    "timer_gettime timer_gettime64 timer_settime timer_settime64 "
	    "timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
	    "timerfd_settime64 times" },
	{ "@system-service",
	    "@aio @basic-io @chown @default @file-system @io-event @ipc @keyring @memlock "
	    "@network-io @process @resources @setuid @signal @sync @timer arm_fadvise64_64 "
	    "capget capset copy_file_range fadvise64 fadvise64_64 flock get_mempolicy getcpu "
	    "getpriority ioctl ioprio_get kcmp madvise mremap name_to_handle_at oldolduname "
	    "olduname personality readahead readdir remap_file_pages sched_get_priority_max "
	    "sched_get_priority_min sched_getattr sched_getparam sched_getscheduler "
	    "sched_rr_get_interval sched_rr_get_interval_time64 sched_yield sendfile sendfile64 "
	    "setfsgid setfsgid32 setfsuid setfsuid32 setpgid setsid splice sysinfo tee "
	    "umask uname userfaultfd vmsplice" },
};
#define NGROUPS ((int)(sizeof(groups) / sizeof(groups[0])))

static int
sandbox_group(const char *name)
{
	for (int i = 0; i < NGROUPS; i++)
		if (strcmp(name, groups[i].name) == 0)
			return i;
	return -1;
}

bool
sandbox_syscall_known(const char *name)
{
	if (name[0] == '@')
		return sandbox_group(name) >= 0;
	return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

/* Adds each system call of a group (following the groups it names) with
 * action; the depth bounds a table that would name itself. */
static int
sandbox_add_group(scmp_filter_ctx ctx, uint32_t action, int g, int depth)
{
	const char *p = groups[g].calls;
	char name[64];
	int rc = 0;

	while (*p != '\0' && rc == 0) {
		size_t n = strcspn(p, " ");

		if (n > 0 && n < sizeof(name)) {
			int nr, sub;

			memcpy(name, p, n);
			name[n] = '\0';
			if (name[0] == '@') {
				if ((sub = sandbox_group(name)) >= 0 && depth < 4)
					rc = sandbox_add_group(ctx, action, sub, depth + 1);
			} else if ((nr = seccomp_syscall_resolve_name(name)) != __NR_SCMP_ERROR &&
			    nr >= 0)
				rc = seccomp_rule_add(ctx, action, nr, 0);
		}
		p += n;
		p += strspn(p, " ");
	}
	return rc;
}

/* The filter's program, exported by libseccomp and read back into memory
 * the configuration owns. */
static bool
sandbox_export(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("porter-seccomp", MFD_CLOEXEC);
	off_t len;
	void *buf;

	if (fd < 0)
		return false;
	if (seccomp_export_bpf(ctx, fd) != 0 || (len = lseek(fd, 0, SEEK_END)) <= 0 ||
	    len % (off_t)sizeof(struct sock_filter) != 0 ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return false;
	}
	buf = mem_alloc((size_t)len);
	if (pread(fd, buf, (size_t)len, 0) != len) {
		free(buf);
		close(fd);
		return false;
	}
	close(fd);
	prog->filter = buf;
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return true;
}

static bool
sandbox_syscalls(struct sandbox *sb, const struct service_config *s)
{
	const struct strv *list = &s->system_call_filter;
	bool deny = list->n > 0 && list->v[0][0] == '~';
	uint32_t error = s->system_call_error > 0 ? SCMP_ACT_ERRNO((uint32_t)s->system_call_error) :
	                                            SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deny ? SCMP_ACT_ALLOW : error);
	int rc = ctx == NULL ? -ENOMEM : 0;
	bool ok;

	for (size_t i = 0; i < list->n && rc == 0; i++) {
		const char *name = list->v[i] + (i == 0 && deny);
		int g, nr;

		if (name[0] == '\0')
			continue;
		if ((g = sandbox_group(name)) >= 0)
			rc = sandbox_add_group(ctx, deny ? error : SCMP_ACT_ALLOW, g, 0);
		else if ((nr = seccomp_syscall_resolve_name(name)) >= 0)
			rc = seccomp_rule_add(ctx, deny ? error : SCMP_ACT_ALLOW, nr, 0);
	}
	/* The filter is loaded just before execve, and a failed execve
	 * ends the child: an allow list lets those through. */
	if (!deny)
		for (const char *const *p = (const char *const[]){ "execve", "exit", "exit_group",
		         "rt_sigreturn", NULL };
		     *p != NULL && rc == 0; p++)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(*p),
			    0);
	ok = rc == 0 && sandbox_export(ctx, &sb->syscalls);
	seccomp_release(ctx);
	return ok;
}

/* socket(2)'s first argument: the families not allowed fail with
 * EAFNOSUPPORT, as if the kernel had none of them. */
static bool
sandbox_families(struct sandbox *sb, const struct service_config *s)
{
	const struct strv *list = &s->restrict_address_families;
	bool deny = list->n > 0 && list->v[0][0] == '~';
	bool listed[AF_MAX] = { false };
	uint32_t refuse = SCMP_ACT_ERRNO(EAFNOSUPPORT);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int nr = seccomp_syscall_resolve_name("socket");
	int rc = ctx == NULL ? -ENOMEM : 0;
	bool ok;

	for (size_t i = 0; i < list->n; i++) {
		int af = sandbox_family_number(list->v[i] + (i == 0 && deny));

		if (af >= 0 && af < AF_MAX)
			listed[af] = true;
	}
	for (int af = 0; af < AF_MAX && rc == 0; af++)
		if (listed[af] == deny)
			rc = seccomp_rule_add(ctx, refuse, nr, 1,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af, 0));
	if (!deny && rc == 0)
		rc = seccomp_rule_add(ctx, refuse, nr, 1,
		    SCMP_A0(SCMP_CMP_GE, (scmp_datum_t)AF_MAX, 0));
	ok = rc == 0 && sandbox_export(ctx, &sb->families);
	seccomp_release(ctx);
	return ok;
}

static int
sandbox_cap_last(void)
{
	char buf[16] = { 0 };
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return CAP_LAST_CAP;
	return atoi(buf);
}

bool
sandbox_have_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) != 0 || cap < 0 || cap >= 64)
		return false;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

struct sandbox *
sandbox_new(const struct service_config *s, struct diag *d)
{
	struct sandbox *sb;
	struct loc at;

	if (!conf_service_has(s, A_NO_NEW_PRIVS) && !conf_service_has(s, A_CAPABILITIES) &&
	    !conf_service_has(s, A_AMBIENT_CAPABILITIES) &&
	    !conf_service_has(s, A_SYSTEM_CALL_FILTER) &&
	    !conf_service_has(s, A_RESTRICT_ADDRESS_FAMILIES))
		return NULL;
	/* Found out now rather than at each connection. */
	if ((conf_service_has(s, A_CAPABILITIES) || s->ambient_capabilities.n > 0) &&
	    !sandbox_have_cap(CAP_SETPCAP)) {
		diag_error(d,
		    conf_service_at(s,
		        conf_service_has(s, A_CAPABILITIES) ? A_CAPABILITIES :
		                                              A_AMBIENT_CAPABILITIES),
		    "%s: capabilities and ambient_capabilities need porterd to have CAP_SETPCAP (to run as root); no_new_privs = yes keeps servers from gaining capabilities without it",
		    s->id);
		return NULL;
	}
	sb = mem_calloc(1, sizeof(*sb));
	sb->no_new_privs = s->no_new_privs;
	sb->cap_last = sandbox_cap_last();
	if (conf_service_has(s, A_CAPABILITIES)) {
		sb->bounding = true;
		for (size_t i = 0; i < s->capabilities.n; i++)
			sb->bound_keep |= 1ull << sandbox_cap_number(s->capabilities.v[i]);
	}
	for (size_t i = 0; i < s->ambient_capabilities.n; i++) {
		int c = sandbox_cap_number(s->ambient_capabilities.v[i]);

		if (sb->bounding && !(sb->bound_keep & (1ull << c))) {
			diag_error(d, conf_service_at(s, A_AMBIENT_CAPABILITIES),
			    "%s: ambient_capabilities: %s is not in capabilities, the bounding set",
			    s->id, sandbox_cap_name(c));
			sandbox_free(sb);
			return NULL;
		}
		sb->ambient |= 1ull << c;
	}
	if (s->restrict_address_families.n > 0 && !sandbox_families(sb, s)) {
		at = conf_service_at(s, A_RESTRICT_ADDRESS_FAMILIES);
		diag_error(d, at, "%s: restrict_address_families: cannot build the filter", s->id);
		sandbox_free(sb);
		return NULL;
	}
	if (s->system_call_filter.n > 0 && !sandbox_syscalls(sb, s)) {
		at = conf_service_at(s, A_SYSTEM_CALL_FILTER);
		diag_error(d, at, "%s: system_call_filter: cannot build the filter", s->id);
		sandbox_free(sb);
		return NULL;
	}
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	free(sb->families.filter);
	free(sb->syscalls.filter);
	free(sb);
}

bool
sandbox_has_filter(const struct sandbox *sb)
{
	return sb != NULL && sb->syscalls.len > 0;
}

/* ------------------------------------------------------------ the kill */

/*
 * Which call the filter killed a server for is not told to its parent; the
 * kernel writes it in an audit record (type 1326, "... pid=N ... syscall=M
 * ..."), which reaches the kernel log when no audit daemon takes it. The log
 * is opened, at its end, before the first filtered server starts; what it
 * says is read without waiting when a server dies of SIGSYS. A record the
 * kernel has not written yet, a log porterd may not read, or pids of
 * another PID namespace leave the call unnamed.
 */
#define KILLS 32

static int kmsg = -2; /* -2: not opened yet, -1: unreadable */
static struct {
	pid_t pid;
	int nr;
} kills[KILLS];
static unsigned nkills;

void
sandbox_watch_kills(void)
{
	if (kmsg != -2)
		return;
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
}

static void
sandbox_read_kills(void)
{
	char rec[2048];
	ssize_t n;

	while (kmsg >= 0 &&
	    ((n = read(kmsg, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE))) {
		const char *p, *q;

		if (n <= 0)
			continue; /* EPIPE: records were overwritten; go on */
		rec[n] = '\0';
		if (strstr(rec, "type=1326") == NULL || (p = strstr(rec, " pid=")) == NULL ||
		    (q = strstr(rec, " syscall=")) == NULL)
			continue;
		kills[nkills % KILLS].pid = (pid_t)atol(p + 5);
		kills[nkills % KILLS].nr = atoi(q + 9);
		nkills++;
	}
}

/* The record of pid's kill, or -1. */
static int
sandbox_find_kill(pid_t pid)
{
	for (unsigned i = 0; i < KILLS && i < nkills; i++) {
		unsigned k = (nkills - 1 - i) % KILLS;

		if (kills[k].pid == pid)
			return (int)k;
	}
	return -1;
}

#define KILL_WAIT_MS 25   /* for one record the kernel is still writing */
#define KILL_BUDGET_MS 50 /* waited in all, each second: a flood of kills */

static long
sandbox_ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long)((b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000);
}

/* The kernel's audit thread writes the record a moment after the kill:
 * it is waited for a little, within a budget, so that a flood of killed
 * servers cannot hold the loop. */
static int
sandbox_wait_kill(pid_t pid)
{
	static time_t second;
	static long spent;
	struct timespec a;
	struct pollfd pfd = { kmsg, POLLIN, 0 };
	int k = -1;
	long left = KILL_WAIT_MS;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (a.tv_sec != second) {
		second = a.tv_sec;
		spent = 0;
	}
	while (k < 0 && left > 0 && spent < KILL_BUDGET_MS && poll(&pfd, 1, (int)left) > 0) {
		sandbox_read_kills();
		k = sandbox_find_kill(pid);
		left = KILL_WAIT_MS - sandbox_ms_since(&a);
	}
	spent += sandbox_ms_since(&a);
	return k;
}

const char *
sandbox_killed_call(pid_t pid)
{
	static char buf[64];
	char *name;
	int k;

	if (kmsg < 0)
		return NULL;
	sandbox_read_kills();
	if ((k = sandbox_find_kill(pid)) < 0 && (k = sandbox_wait_kill(pid)) < 0)
		return NULL;
	kills[k].pid = 0;
	name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, kills[k].nr);
	if (name == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", name);
	free(name);
	return buf;
}

void
sandbox_end(void)
{
	if (kmsg >= 0)
		close(kmsg);
	kmsg = -2;
}

/* ------------------------------------------------------------ the child */

/*
 * What runs in the vfork child: system calls only, no allocation, no
 * library state. Each returns 0, or -1 with errno and *stage naming the
 * step that failed.
 */
int
sandbox_child_before_creds(const struct sandbox *sb, bool uid_change, const char **stage)
{
	if (sb == NULL)
		return 0;
	*stage = "capabilities";
	if (sb->bounding)
		for (int c = 0; c <= sb->cap_last; c++)
			if (c >= 64 || !(sb->bound_keep & (1ull << c)))
				if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
					return -1;
	/* The permitted set survives the change of user only with this. */
	*stage = "ambient_capabilities";
	if (sb->ambient != 0 && uid_change && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return -1;
	return 0;
}

int
sandbox_child_after_creds(const struct sandbox *sb, const char **stage)
{
	if (sb == NULL)
		return 0;
	if (sb->ambient != 0) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];

		*stage = "ambient_capabilities";
		for (int i = 0; i < 2; i++) {
			uint32_t w = (uint32_t)(sb->ambient >> (32 * i));

			data[i].effective = data[i].permitted = data[i].inheritable = w;
		}
		if (syscall(SYS_capset, &hdr, data) != 0)
			return -1;
		for (int c = 0; c < 64; c++)
			if ((sb->ambient & (1ull << c)) &&
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
				return -1;
	}
	*stage = "no_new_privs";
	if ((sb->no_new_privs || sb->syscalls.len > 0 || sb->families.len > 0) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	*stage = "restrict_address_families";
	if (sb->families.len > 0 &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb->families) != 0)
		return -1;
	/* Last: from here on the filter judges every call, execve included. */
	*stage = "system_call_filter";
	if (sb->syscalls.len > 0 &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb->syscalls) != 0)
		return -1;
	return 0;
}
