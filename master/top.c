/*
 * top: "drover -s top", a live view of a running master (top.h).
 *
 * Every second it asks the master's control socket for the metrics page
 * (the bytes workers build /metrics from, metrics_page.h) and shows the
 * workers and the totals. Rates and latency quantiles come from the
 * difference between two pages: requests over the seconds between their
 * publications, p50/p99 from the histogram buckets that grew (linear
 * within a bucket, as Prometheus's histogram_quantile does).
 *
 * On a terminal the screen is redrawn in place and the keyboard is read
 * without line buffering, so "q" leaves at once; Ctrl-C still raises
 * SIGINT (ISIG stays on), which ends the loop the same way. The terminal
 * is restored on every way out of top_run(). Not on a terminal, each
 * refresh is a block of plain lines followed by a blank line.
 */
#include "config.h"

#include "top.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "metrics_page.h"

static volatile sig_atomic_t top_stop_flag;

static void top__on_signal(int sig)
{
    (void)sig;
    top_stop_flag = 1;
}

/* One page as read: its rows are those that arrived whole. */
typedef struct {
    metrics_page_t *pg;
    uint32_t rows;
    int valid;
} top_snap_t;

static int top__fetch(pid_t pid, top_snap_t *s)
{
    int n = control_request(pid, "metrics", 5.0, (char *)s->pg, sizeof(*s->pg));
    s->valid = 0;
    if (n < 0)
        return -1;
    if ((size_t)n < offsetof(metrics_page_t, workers)) {
        errno = EPROTO;
        return -1;
    }
    /* A very large page may be cut short by the master's non-blocking
     * send: show the rows that came. */
    uint32_t got = (uint32_t)(((size_t)n - offsetof(metrics_page_t, workers)) / sizeof(metrics_worker_t));
    s->rows = got < s->pg->nworkers ? got : s->pg->nworkers;
    s->valid = 1;
    return 0;
}

/* The q quantile (0..1) of the durations counted in d, in seconds; -1
 * when d is empty, +Inf beyond the last bound. */
static double top__quantile(const uint64_t *d, double q)
{
    uint64_t total = 0;
    for (int i = 0; i <= METRICS_BUCKETS; i++)
        total += d[i];
    if (total == 0)
        return -1;
    double rank = q * (double)total, cum = 0;
    for (int i = 0; i < METRICS_BUCKETS; i++) {
        if (cum + (double)d[i] >= rank && d[i] > 0) {
            double lo = i == 0 ? 0 : metrics_bucket_us[i - 1] / 1e6, hi = metrics_bucket_us[i] / 1e6;
            return lo + (hi - lo) * (rank - cum) / (double)d[i];
        }
        cum += (double)d[i];
    }
    return 1.0 / 0.0;
}

static void top__latency(char *out, size_t size, double s)
{
    if (s < 0)
        snprintf(out, size, "-");
    else if (s > 1e9)
        snprintf(out, size, ">%gs", metrics_bucket_us[METRICS_BUCKETS - 1] / 1e6);
    else if (s < 0.001)
        snprintf(out, size, "%.0fus", s * 1e6);
    else if (s < 1)
        snprintf(out, size, "%.1fms", s * 1e3);
    else
        snprintf(out, size, "%.2fs", s);
}

static const metrics_worker_t *top__find(const top_snap_t *s, int32_t pid)
{
    for (uint32_t i = 0; s->valid && i < s->rows; i++)
        if (s->pg->workers[i].r.pid == pid)
            return &s->pg->workers[i];
    return NULL;
}

/* The rate and quantiles between two reports of the same worker (or two
 * totals); prev NULL: no rate yet. */
static void top__deltas(const report_t *cur, const report_t *prev, double dt, char *rate, size_t rsize,
                        char *p50, char *p99, size_t lsize)
{
    if (prev == NULL || dt <= 0 || cur->requests < prev->requests) {
        snprintf(rate, rsize, "-");
        snprintf(p50, lsize, "-");
        snprintf(p99, lsize, "-");
        return;
    }
    uint64_t d[METRICS_BUCKETS + 1];
    for (int i = 0; i <= METRICS_BUCKETS; i++)
        d[i] = cur->m.duration[i] - prev->m.duration[i];
    snprintf(rate, rsize, "%.1f", (double)(cur->requests - prev->requests) / dt);
    top__latency(p50, lsize, top__quantile(d, 0.50));
    top__latency(p99, lsize, top__quantile(d, 0.99));
}

static const char *top__state(uint32_t s)
{
    static const char *const names[] = { "starting", "ready", "draining", "recycling" };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void top__totals(const top_snap_t *s, report_t *t)
{
    *t = s->pg->retired;
    for (uint32_t i = 0; i < s->rows; i++)
        report_add(t, &s->pg->workers[i].r);
}

static void top__print(FILE *out, pid_t pid, const top_snap_t *cur, const top_snap_t *prev, int tty)
{
    const metrics_page_t *pg = cur->pg;
    double dt = prev->valid ? pg->published - prev->pg->published : 0;
    const char *eol = tty ? "\033[K\n" : "\n";
    char rate[32], p50[32], p99[32];

    if (tty)
        fputs("\033[H", out);
    time_t now = (time_t)pg->published;
    struct tm tm;
    char when[32];
    strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
    fprintf(out, "drover %s, master %ld, %s, up %.0fs, generation %u, %u worker%s (%u wanted)%s",
            DROVER_VERSION, (long)pid, when, pg->published - pg->start_time, pg->generation, cur->rows,
            cur->rows == 1 ? "" : "s", pg->workers_wanted, eol);
    fprintf(out, "%-8s %4s %4s %-9s %8s %6s %9s %8s %8s %11s %8s%s", "pid", "slot", "gen", "state",
            "uptime", "conns", "req/s", "p50", "p99", "requests", "restarts", eol);
    uint32_t conns[METRICS_CONN_STATES] = { 0, 0, 0 };
    for (uint32_t i = 0; i < cur->rows; i++) {
        const metrics_worker_t *w = &pg->workers[i];
        const metrics_worker_t *o = top__find(prev, w->r.pid);
        top__deltas(&w->r, o ? &o->r : NULL, dt, rate, sizeof(rate), p50, p99, sizeof(p50));
        fprintf(out, "%-8ld %4u %4u %-9s %7.0fs %6u %9s %8s %8s %11llu %8u%s", (long)w->r.pid, w->r.slot,
                w->r.generation, top__state(w->state), w->uptime, w->r.connections, rate, p50, p99,
                (unsigned long long)w->r.requests, w->restarts, eol);
        for (int k = 0; k < METRICS_CONN_STATES; k++)
            conns[k] += w->r.conn_state[k];
    }
    report_t t, pt;
    top__totals(cur, &t);
    if (prev->valid)
        top__totals(prev, &pt);
    top__deltas(&t, prev->valid ? &pt : NULL, dt, rate, sizeof(rate), p50, p99, sizeof(p50));
    fprintf(out, "total: %u connections (%u reading, %u writing, %u idle), %s req/s, p50 %s, p99 %s, "
                 "%llu requests%s",
            conns[0] + conns[1] + conns[2], conns[0], conns[1], conns[2], rate, p50, p99,
            (unsigned long long)t.requests, eol);
    fprintf(out, "restarts: %llu crash, %llu hang, %llu recycle; reloads: %llu ok, %llu refused, "
                 "%llu aborted%s",
            (unsigned long long)pg->restarts[0], (unsigned long long)pg->restarts[1],
            (unsigned long long)pg->restarts[2], (unsigned long long)pg->reloads[0],
            (unsigned long long)pg->reloads[1], (unsigned long long)pg->reloads[2], eol);
    if (tty)
        fputs("(q to quit)\033[K\n\033[J", out);
    else
        fputs("\n", out);
    fflush(out);
}

/* Waits about a second; 1 when the user asked to leave. */
static int top__wait(int keys)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int n = 0; n < 100 && !top_stop_flag; n++) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int left = 1000 - (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0)
            return 0;
        struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
        int r = poll(keys ? &pfd : NULL, keys ? 1 : 0, left);
        if (r > 0) {
            char c[16];
            ssize_t k = read(STDIN_FILENO, c, sizeof(c));
            if (k <= 0)
                return 1; /* the terminal is gone */
            if (memchr(c, 'q', (size_t)k) != NULL || memchr(c, 'Q', (size_t)k) != NULL)
                return 1;
        }
    }
    return top_stop_flag != 0;
}

int top_run(pid_t pid, int count)
{
    int tty = isatty(STDOUT_FILENO);
    int keys = tty && isatty(STDIN_FILENO);
    struct termios saved, raw;
    int raw_on = 0, rc = 1;
    top_snap_t snap[2] = { { malloc(sizeof(metrics_page_t)), 0, 0 },
                           { malloc(sizeof(metrics_page_t)), 0, 0 } };
    if (snap[0].pg == NULL || snap[1].pg == NULL) {
        fprintf(stderr, "drover: top: out of memory\n");
        goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = top__on_signal; /* no SA_RESTART: poll returns at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO); /* keys at once; ISIG kept for Ctrl-C */
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            raw_on = 1;
    }
    if (tty)
        fputs("\033[?25l\033[2J", stdout); /* hide the cursor, clear the screen */

    int cur = 0;
    for (int shown = 0; !top_stop_flag && (count <= 0 || shown < count); shown++) {
        if (shown > 0 && top__wait(keys))
            break;
        if (top__fetch(pid, &snap[cur]) < 0) {
            if (tty)
                fputs("\033[?25h\033[2J\033[H", stdout);
            tty = 0;
            fprintf(stderr, "drover: top: master %ld does not answer: %s\n", (long)pid, strerror(errno));
            goto done;
        }
        top__print(stdout, pid, &snap[cur], &snap[!cur], tty);
        cur = !cur;
    }
    rc = 0;

done:
    if (tty)
        fputs("\033[?25h\n", stdout);
    fflush(stdout);
    if (raw_on)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    free(snap[0].pg);
    free(snap[1].pg);
    return rc;
}
