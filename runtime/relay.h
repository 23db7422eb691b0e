/* A byte relay between one socket and a pair of pipes, for CRIU's page traffic in a post-copy
 * migration: CRIU wants a connected socket (--ps-socket), ssh gives a pipe each way.
 * Private to runtime/migrate_lazy.c. */
#pragma once

/* Copy @in -> @sock and @sock -> @out until both directions end: the end of @in shuts down the
 * socket's sending side; the end of @sock closes @out and ends the relay (what @in still sends
 * has no reader). Each direction has its own buffer and
 * neither blocks the other (the descriptors are made non-blocking), so a peer that writes much
 * before reading cannot deadlock the relay. Closes none of the three descriptors except @out at
 * the end of @sock. Returns 0 when both ended, -errno on an error of either side; *ret_up and
 * *ret_down (may be NULL) are the bytes moved @in -> @sock and @sock -> @out. */
int relay_run(int sock, int in, int out, unsigned long long *ret_up, unsigned long long *ret_down);
