/* Hazard slots for lock-free readers (see gq_hazard.h). */
#include "base/gq_hazard.h"

#include <pthread.h>
#include <stddef.h>

struct gq_hazard {
    void *ptr; /* the snapshot this thread reads, or NULL; atomic */
    int owner; /* 1 while a thread holds the slot; atomic */
    char pad[64 - sizeof(void *) - sizeof(int)];
} __attribute__((aligned(64)));

static struct gq_hazard slots[GQ_HAZARD_SLOTS];
static __thread struct gq_hazard *mine;
static __thread int mine_tried;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_ok;

static void on_thread_exit(void *slot)
{
    struct gq_hazard *h = slot;
    __atomic_store_n(&h->ptr, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&h->owner, 0, __ATOMIC_RELEASE);
}

static void make_key(void) { key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0; }

struct gq_hazard *gq_hazard_acquire(void)
{
    if (mine || mine_tried)
        return mine;
    mine_tried = 1;
    pthread_once(&key_once, make_key);
    if (!key_ok)
        return NULL; /* could not release it at exit: do without */
    for (size_t i = 0; i < GQ_HAZARD_SLOTS; i++) {
        int free_slot = 0;
        if (__atomic_compare_exchange_n(&slots[i].owner, &free_slot, 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED)) {
            if (pthread_setspecific(exit_key, &slots[i]) != 0) {
                __atomic_store_n(&slots[i].owner, 0, __ATOMIC_RELEASE);
                return NULL;
            }
            mine = &slots[i];
            return mine;
        }
    }
    return NULL;
}

void *gq_hazard_protect(struct gq_hazard *h, void *const *shared)
{
    void *p = __atomic_load_n(shared, __ATOMIC_ACQUIRE);
    for (;;) {
        /* Announce, then check the announcement came in time: a writer that
         * published after our load scans the slots after its publish, so it
         * either sees our announcement or we see its new pointer here. */
        __atomic_store_n(&h->ptr, p, __ATOMIC_SEQ_CST);
        void *again = __atomic_load_n(shared, __ATOMIC_SEQ_CST);
        if (again == p)
            return p;
        p = again;
    }
}

void gq_hazard_clear(struct gq_hazard *h) { __atomic_store_n(&h->ptr, NULL, __ATOMIC_RELEASE); }

int gq_hazard_in_use(const void *p)
{
    for (size_t i = 0; i < GQ_HAZARD_SLOTS; i++)
        if (__atomic_load_n(&slots[i].ptr, __ATOMIC_SEQ_CST) == p)
            return 1;
    return 0;
}

void gq_hazard_after_fork_child(void)
{
    for (size_t i = 0; i < GQ_HAZARD_SLOTS; i++) {
        if (&slots[i] == mine)
            continue;
        __atomic_store_n(&slots[i].ptr, NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&slots[i].owner, 0, __ATOMIC_RELAXED);
    }
}
