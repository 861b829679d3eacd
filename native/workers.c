/*
 * workers.c - one job mailbox per helper thread, for batches of rows split across cores.
 *
 * softviz's helper threads are Python threads (the C core starts none); each one, between
 * jobs, waits inside sv_job_serve with the GIL released, polling its mailbox for a
 * while before it goes back to sleep in Python.  A caller posts whole rows to a
 * polling helper and works on its own share meanwhile: no wake-up through the operating
 * system, which costs tens of microseconds on a virtual machine, as long as calls come
 * in bursts (the idea of OpenMP's spin-wait before sleeping).
 *
 * The mailbox is memory the caller owns (nothing is allocated here, there is no global
 * state).  Its state moves idle -> posted (caller) -> done (helper) -> idle (caller's
 * wait), with release/acquire ordering so that the job's fields and the output rows are
 * visible to the side that reads them next.  Built where the compiler has the GNU
 * atomic builtins (gcc, clang); elsewhere every function returns SV_EOPTION and
 * softviz uses its thread pool alone.
 */
#include <stddef.h>

#include "softviz.h"

#if defined(__GNUC__) || defined(__clang__)
#define SV_HAVE_JOBS 1
#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define PAUSE() __asm__ __volatile__("yield")
#else
#define PAUSE() ((void)0)
#endif
#else
#define SV_HAVE_JOBS 0
#endif

enum { JOB_IDLE = 0, JOB_POSTED = 1, JOB_DONE = 2 };

static int run(const sv_job *j)
{
    if (j->is_f64) {
        const double *x = (const double *)j->x;
        double *y = (double *)j->y;
        switch (j->op) {
        case SV_SOFTMAX: return sv_softmax_f64(j->algorithm, x, y, j->rows, j->n);
        case SV_LOG_SOFTMAX: return sv_log_softmax_f64(j->algorithm, x, y, j->rows, j->n);
        case SV_LOGSUMEXP: return sv_logsumexp_f64(j->algorithm, x, y, j->rows, j->n);
        default: return SV_EOPTION;
        }
    } else {
        const float *x = (const float *)j->x;
        float *y = (float *)j->y;
        switch (j->op) {
        case SV_SOFTMAX: return sv_softmax_f32(j->algorithm, x, y, j->rows, j->n);
        case SV_LOG_SOFTMAX: return sv_log_softmax_f32(j->algorithm, x, y, j->rows, j->n);
        case SV_LOGSUMEXP: return sv_logsumexp_f32(j->algorithm, x, y, j->rows, j->n);
        default: return SV_EOPTION;
        }
    }
}

int sv_job_init(sv_job *job)
{
    if (!job)
        return SV_ENULL;
#if SV_HAVE_JOBS
    job->op = job->algorithm = job->is_f64 = 0;
    job->x = NULL;
    job->y = NULL;
    job->rows = job->n = 0;
    job->status = SV_OK;
    STORE(&job->state, JOB_IDLE);
    return SV_OK;
#else
    return SV_EOPTION;
#endif
}

int sv_job_post(sv_job *job, int op, int algorithm, int is_f64, const void *x, void *y, size_t rows, size_t n)
{
    if (!job)
        return SV_ENULL;
#if SV_HAVE_JOBS
    if (LOAD(&job->state) != JOB_IDLE)
        return SV_EOPTION;
    job->op = op;
    job->algorithm = algorithm;
    job->is_f64 = is_f64;
    job->x = x;
    job->y = y;
    job->rows = rows;
    job->n = n;
    job->status = SV_OK;
    STORE(&job->state, JOB_POSTED);
    return SV_OK;
#else
    (void)op, (void)algorithm, (void)is_f64, (void)x, (void)y, (void)rows, (void)n;
    return SV_EOPTION;
#endif
}

int sv_job_serve(sv_job *job, long polls)
{
#if SV_HAVE_JOBS
    if (!job)
        return -SV_ENULL;
    int served = 0;
    /* jobs in a burst are served here without returning: back in Python, the helper
     * would need the GIL, and taking it from the caller costs an OS wake-up */
    for (long i = 0; i < polls; i++) {
        if (LOAD(&job->state) == JOB_POSTED) {
            job->status = run(job);
            STORE(&job->state, JOB_DONE);
            served = 1;
            i = 0;
        }
        PAUSE();
    }
    return served;
#else
    (void)job, (void)polls;
    return -SV_EOPTION;
#endif
}

int sv_job_wait(sv_job *job, long polls)
{
#if SV_HAVE_JOBS
    if (!job)
        return -SV_ENULL;
    for (long i = 0; polls < 0 || i < polls; i++) {
        if (LOAD(&job->state) == JOB_DONE) {
            const int status = job->status;
            STORE(&job->state, JOB_IDLE);
            return status;
        }
        PAUSE();
    }
    return -1;
#else
    (void)job, (void)polls;
    return -SV_EOPTION;
#endif
}

int sv_job_state(const sv_job *job)
{
#if SV_HAVE_JOBS
    return job ? LOAD(&job->state) : -SV_ENULL;
#else
    (void)job;
    return -SV_EOPTION;
#endif
}
