/*
 * list: an intrusive, circular, doubly linked list, in the spirit of
 * libuv's queue.h.
 *
 * A list_t is embedded in each element (its "link") and in the owner (its
 * "head"); list_entry() goes from a link back to the element around it. The
 * head is a link like any other, so inserting and removing never test for
 * an empty list or an end. Invariant: a link that is on no list points at
 * itself, so list_linked() tells whether an element is on a list and
 * list_remove() of an unlinked element does nothing. Every link must be
 * list_init()-ed (or inserted) before it is used.
 *
 * Header-only: every operation is a few pointer moves, inlined.
 */
#ifndef DROVER_LIST_H
#define DROVER_LIST_H

#include <stddef.h>

typedef struct list_s {
    struct list_s *next;
    struct list_s *prev;
} list_t;

/* The element of type type whose member field is the link l. */
#define list_entry(l, type, field) ((type *)(void *)((char *)(l) - offsetof(type, field)))

static inline void list_init(list_t *l)
{
    l->next = l->prev = l;
}

/* For a head: 1 when no element is on it. For an element's link: 1 when
 * the element is on no list. */
static inline int list_empty(const list_t *l)
{
    return l->next == l;
}

static inline int list_linked(const list_t *l)
{
    return l->next != l;
}

/* The first (oldest appended) and last element's link, or NULL when empty. */
static inline list_t *list_first(const list_t *head)
{
    return head->next == head ? NULL : head->next;
}

static inline list_t *list_last(const list_t *head)
{
    return head->prev == head ? NULL : head->prev;
}

/* Takes l off its list (nothing when it is on none) and leaves it unlinked. */
static inline void list_remove(list_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->next = l->prev = l;
}

/* Puts the unlinked l at the end of head. */
static inline void list_insert_tail(list_t *head, list_t *l)
{
    l->next = head;
    l->prev = head->prev;
    head->prev->next = l;
    head->prev = l;
}

/* Puts the unlinked l at the front of head. */
static inline void list_insert_head(list_t *head, list_t *l)
{
    l->next = head->next;
    l->prev = head;
    head->next->prev = l;
    head->next = l;
}

/* Visits every link of head; the body may remove the current link (the
 * next one is read before the body runs). */
#define list_foreach_safe(l, tmp, head) \
    for ((l) = (head)->next, (tmp) = (l)->next; (l) != (head); (l) = (tmp), (tmp) = (l)->next)

#endif
