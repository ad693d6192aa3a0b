#ifndef FERRY_SYSTEM_H
#define FERRY_SYSTEM_H

#include <spawn.h>

// glibc's GNU extensions that Swift's Glibc module does not show (they need _GNU_SOURCE).

/// Names the calling thread (at most 15 bytes are kept); 0 or an errno.
int ferry_set_thread_name(const char *name);

/// posix_spawn_file_actions_addchdir_np: the child starts in `directory`.
int ferry_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *directory);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `lowest` up.
int ferry_spawn_add_close_from(posix_spawn_file_actions_t *actions, int lowest);

#endif
