// Client process for the fuse-native tests and benchmark (fuse-native-fixes
// .test.ts, fn-rtt-bench.mjs): drives a FUSE mount with plain syscalls.
//   fn-client stat <path> <n>      n x stat(path) (one GETATTR each with attr_timeout=0);
//                                  prints "<ns per stat> 0"
//   fn-client readdir <dir> <n>    n x opendir+readdir+closedir (one readdir op each);
//                                  prints "<ns per listing> <entries>"
//   fn-client ls <dir>             one listing, one line per entry: "<d_ino> <d_type> <name>"
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main (int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s stat|readdir <path> <n> | ls <dir>\n", argv[0]); return 2; }
  const char *path = argv[2];
  if (strcmp(argv[1], "ls") == 0) {
    DIR *d = opendir(path);
    if (!d) { perror("opendir"); return 1; }
    struct dirent *e;
    while ((e = readdir(d))) printf("%llu %u %s\n", (unsigned long long) e->d_ino, (unsigned) e->d_type, e->d_name);
    closedir(d);
    return 0;
  }
  if (argc != 4) { fprintf(stderr, "missing <n>\n"); return 2; }
  long n = atol(argv[3]);
  long entries = 0;
  double t0 = now_ns();
  if (strcmp(argv[1], "stat") == 0) {
    struct stat st;
    for (long i = 0; i < n; i++) if (stat(path, &st) != 0) { perror("stat"); return 1; }
  } else if (strcmp(argv[1], "readdir") == 0) {
    for (long i = 0; i < n; i++) {
      DIR *d = opendir(path);
      if (!d) { perror("opendir"); return 1; }
      entries = 0;
      while (readdir(d)) entries++;
      closedir(d);
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }
  double t1 = now_ns();
  printf("%.1f %ld\n", (t1 - t0) / n, entries);
  return 0;
}
