// Power-loss images of a data directory. `kill -9` keeps the page cache, so it cannot show whether a write was
// made durable; this harness can. An LD_PRELOAD shim (C, compiled with `cc` at test time) wraps fsync() and
// fdatasync() in the broker process: each call on a regular file records a copy of the file's contents, and
// each call on a directory records its entries (name → inode). After the broker is killed, buildImage()
// rebuilds the directory tree as a power loss would leave it under POSIX rules: a directory holds only the
// entries it held at its last fsync (or at the start), and a file only the contents of its last fsync (or its
// starting contents; empty when it never had any). Everything written but not fsynced is gone.
//
// Limits: the model is the strictest POSIX reading (ext4 often keeps more), and files are keyed by inode, so
// an inode freed and reused while its old name is still in a not-yet-fsynced directory could lend that name
// the newer file's contents (the tests do not delete files while running). Node's libuv must not use io_uring
// for fsync, so the broker runs with UV_USE_IO_URING=0.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const SHIM_SOURCE = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long seq;

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w <= 0) return;
    buf += w;
    len -= (size_t)w;
  }
}

/* One line per durable change, appended with O_APPEND so concurrent threads never interleave a line. */
static void event(const char *dir, char kind, unsigned long ino, const char *snap) {
  char path[4096], line[4200];
  snprintf(path, sizeof path, "%s/events", dir);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  int n = snprintf(line, sizeof line, "%c %lu %s\n", kind, ino, snap);
  write_all(fd, line, (size_t)n);
  close(fd);
}

static void record(int fd) {
  const char *dir = getenv("BROOK_FSYNC_TRACE_DIR");
  struct stat st;
  if (dir == NULL || fstat(fd, &st) != 0) return;
  unsigned long n = __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST);
  char name[64], snap[4096];
  snprintf(name, sizeof name, "s-%d-%lu", (int)getpid(), n);
  snprintf(snap, sizeof snap, "%s/%s", dir, name);
  if (S_ISREG(st.st_mode)) {
    int out = open(snap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return;
    char buf[65536];
    off_t off = 0;
    ssize_t r;
    while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
      write_all(out, buf, (size_t)r);
      off += r;
    }
    close(out);
    event(dir, 'F', (unsigned long)st.st_ino, name);
  } else if (S_ISDIR(st.st_mode)) {
    if (getenv("BROOK_FSYNC_TRACE_IGNORE_DIRS") != NULL) return; /* simulates a missing directory fsync */
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
    if (d == NULL) return;
    int out = open(snap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct dirent *e;
    while (out >= 0 && (e = readdir(d)) != NULL) {
      struct stat es;
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if (fstatat(dirfd(d), e->d_name, &es, AT_SYMLINK_NOFOLLOW) != 0) continue;
      char line[512];
      int len = snprintf(line, sizeof line, "%lu\t%c\t%s\n", (unsigned long)es.st_ino,
                         S_ISDIR(es.st_mode) ? 'd' : 'f', e->d_name);
      write_all(out, line, (size_t)len);
    }
    closedir(d);
    if (out >= 0) close(out);
    event(dir, 'D', (unsigned long)st.st_ino, name);
  }
}

int fsync(int fd) {
  static int (*real)(int);
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  record(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  record(fd);
  return real(fd);
}
`;

/** Compiles the shim into `dir`; returns the .so path, or null when no C compiler works here. */
export function buildFsyncShim(dir: string): string | null {
  const src = join(dir, 'fsync-trace.c');
  const so = join(dir, 'fsync-trace.so');
  writeFileSync(src, SHIM_SOURCE);
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-o', so, src, '-ldl'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.error !== undefined || r.status !== 0) return null;
  return so;
}

/** Environment for a process whose fsyncs are traced into traceDir. */
export function tracedEnv(shim: string, traceDir: string, opts: { ignoreDirFsyncs?: boolean } = {}) {
  const env: Record<string, string> = {
    LD_PRELOAD: shim,
    BROOK_FSYNC_TRACE_DIR: traceDir,
    UV_USE_IO_URING: '0',
  };
  if (opts.ignoreDirFsyncs === true) env.BROOK_FSYNC_TRACE_IGNORE_DIRS = '1';
  return env;
}

/** Records everything under dataDir as durable: the state before the traced process starts. */
export function recordBaseline(traceDir: string, dataDir: string): void {
  let n = 0;
  const walk = (dir: string): void => {
    const lines: string[] = [];
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      lines.push(`${st.ino}\t${st.isDirectory() ? 'd' : 'f'}\t${name}\n`);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) {
        const snap = `base-${n++}`;
        copyFileSync(p, join(traceDir, snap));
        appendFileSync(join(traceDir, 'events'), `F ${st.ino} ${snap}\n`);
      }
    }
    const snap = `base-${n++}`;
    writeFileSync(join(traceDir, snap), lines.join(''));
    appendFileSync(join(traceDir, 'events'), `D ${lstatSync(dir).ino} ${snap}\n`);
  };
  walk(dataDir);
}

/** Rebuilds into imageDir what dataDir holds after a power loss at this moment (see the header). */
export function buildImage(traceDir: string, dataDir: string, imageDir: string): void {
  const contents = new Map<string, string>();
  const listings = new Map<string, string>();
  for (const line of readFileSync(join(traceDir, 'events'), 'utf8').split('\n')) {
    const [kind, ino, snap] = line.split(' ');
    if (snap === undefined) continue;
    (kind === 'F' ? contents : listings).set(ino!, join(traceDir, snap));
  }
  const build = (ino: string, out: string): void => {
    mkdirSync(out, { recursive: true });
    const listing = listings.get(ino);
    if (listing === undefined) return; // never fsynced since it was created: empty
    for (const entry of readFileSync(listing, 'utf8').split('\n')) {
      const [childIno, type, name] = entry.split('\t');
      if (name === undefined) continue;
      if (type === 'd') build(childIno!, join(out, name));
      else {
        const content = contents.get(childIno!);
        if (content === undefined) writeFileSync(join(out, name), '');
        else copyFileSync(content, join(out, name));
      }
    }
  };
  build(String(lstatSync(dataDir).ino), imageDir);
}
