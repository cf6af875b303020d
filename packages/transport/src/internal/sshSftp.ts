/**
 * SFTP operations as Effects with errors mapped where they enter: `NO_SUCH_FILE` -> `FileNotFound`, a dead
 * session -> `SshChannelClosed`, anything else -> `CommandFailed` naming the operation and path.
 */
import type { Attributes, FileEntryWithStats, OpenMode, SFTPWrapper, Stats } from "ssh2"
import * as Effect from "effect/Effect"
import { CommandFailed, FileNotFound, SshChannelClosed, SshTimeout } from "@homelab-mcp/core/Errors"

/** SFTP `NO_SUCH_FILE` status. */
export const NO_SUCH_FILE = 2
/** SFTP `FAILURE` status. */
export const FAILURE = 4

/** What a single SFTP operation can fail with. */
export type SftpError = FileNotFound | SshChannelClosed | CommandFailed | SshTimeout

/** The per-operation limit (transport-trust.md §4.2). */
export const OP_TIMEOUT_MS = 30_000
/** The per-transfer limit. */
export const TRANSFER_TIMEOUT_MS = 120_000

const CHUNK = 32 * 1024

/** Maps an SFTP error to a typed one. */
export const mapSftpError = (op: string, path: string, err: unknown): SftpError => {
  const e = err as { code?: unknown; message?: string }
  if (e.code === NO_SUCH_FILE) return new FileNotFound({ path })
  const message = e.message ?? String(err)
  if (/No response from server|Not connected|channel|closed/i.test(message) && typeof e.code !== "number") {
    return new SshChannelClosed({ what: `SFTP ${op} ${path}` })
  }
  return new CommandFailed({ command: `sftp ${op} ${path}`, exitCode: null, stderr: message })
}

/**
 * Wraps one callback-style SFTP call with error mapping and the 30 s limit. The limit is a timer of its
 * own, not an interruption, so it also ends a call made in a finalizer (a handle's close, a temp file's
 * unlink): ssh2 never answers a request sent on a channel that has closed, and such a call would otherwise
 * hold its finalizer, and the tool call, forever.
 */
export const call = <A>(
  op: string,
  path: string,
  f: (cb: (err: Error | null | undefined, value?: A) => void) => void,
  timeoutMs = OP_TIMEOUT_MS
): Effect.Effect<A, SftpError> =>
  Effect.async<A, SftpError>((resume) => {
    let settled = false
    const settle = (effect: Effect.Effect<A, SftpError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(effect)
    }
    const timer = setTimeout(() => settle(Effect.fail(new SshTimeout({ what: `SFTP ${op} ${path}`, timeoutMs }))), timeoutMs)
    timer.unref()
    try {
      f((err, value) => settle(err ? Effect.fail(mapSftpError(op, path, err)) : Effect.succeed(value as A)))
    } catch (e) {
      settle(Effect.fail(mapSftpError(op, path, e)))
    }
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
    })
  })

/**
 * False once the session's channel has closed either way (the server's end of it, or ours): ssh2 then
 * takes requests and never answers them.
 */
export const isOpen = (sftp: SFTPWrapper): boolean => {
  const s = sftp as unknown as { outgoing?: { state?: string }; readable?: boolean }
  return s.outgoing?.state === "open" && s.readable !== false
}

/**
 * `call` on `sftp`, failing at once with `SshChannelClosed` when its channel has closed (no request is
 * sent). The check waits for the current ssh2 event to end: ssh2 fails a closing channel's pending requests
 * before it marks the channel closed, and a request made in reaction (a handle's close) must see it closed.
 */
export const request = <A>(
  sftp: SFTPWrapper,
  op: string,
  path: string,
  f: (cb: (err: Error | null | undefined, value?: A) => void) => void,
  timeoutMs = OP_TIMEOUT_MS
): Effect.Effect<A, SftpError> =>
  Effect.zipRight(
    Effect.yieldNow(),
    Effect.suspend(() => isOpen(sftp) ? call(op, path, f, timeoutMs) : Effect.fail(new SshChannelClosed({ what: `SFTP ${op} ${path}` })))
  )

/** `stat`/`lstat` attributes reduced to what callers need. */
export interface SftpStat {
  readonly type: "file" | "directory" | "symlink" | "other"
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtimeMs: number
}

/** Converts ssh2 stats. */
export const toStat = (s: Stats | Attributes): SftpStat => {
  const fmt = s.mode & 0o170000
  return {
    type: fmt === 0o100000 ? "file" : fmt === 0o040000 ? "directory" : fmt === 0o120000 ? "symlink" : "other",
    size: Number(s.size),
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    mtimeMs: s.mtime * 1000
  }
}

/** `stat` (follows links); `FileNotFound` when absent. */
export const stat = (sftp: SFTPWrapper, path: string) =>
  request<Stats>(sftp, "stat", path, (cb) => sftp.stat(path, cb)).pipe(Effect.map(toStat))

/** `lstat` (does not follow links). */
export const lstat = (sftp: SFTPWrapper, path: string) =>
  request<Stats>(sftp, "lstat", path, (cb) => sftp.lstat(path, cb)).pipe(Effect.map(toStat))

/** Server-side `realpath`. */
export const realpath = (sftp: SFTPWrapper, path: string) =>
  request<string>(sftp, "realpath", path, (cb) => sftp.realpath(path, cb))

/** A symlink's target as stored. */
export const readlink = (sftp: SFTPWrapper, path: string) =>
  request<string>(sftp, "readlink", path, (cb) => sftp.readlink(path, cb))

/** Removes a file. */
export const unlink = (sftp: SFTPWrapper, path: string) =>
  request<void>(sftp, "remove", path, (cb) => sftp.unlink(path, cb))

/** Lists a directory (entries with their attributes). */
export const readdir = (sftp: SFTPWrapper, path: string) =>
  request<Array<FileEntryWithStats>>(sftp, "readdir", path, (cb) => sftp.readdir(path, cb))

/** Opens a file handle with `flags` (and `mode` for created files). */
export const open = (sftp: SFTPWrapper, path: string, flags: OpenMode, mode?: number) =>
  request<Buffer>(sftp, "open", path, (cb) =>
    mode === undefined ? sftp.open(path, flags, cb) : sftp.open(path, flags, { mode }, cb))


/** Closes a handle. */
export const close = (sftp: SFTPWrapper, path: string, handle: Buffer) =>
  request<void>(sftp, "close", path, (cb) => sftp.close(handle, cb))

/** Opens, runs `use`, and closes the handle in every outcome. */
export const withHandle = <A, E>(
  sftp: SFTPWrapper,
  path: string,
  flags: OpenMode,
  use: (handle: Buffer) => Effect.Effect<A, E>,
  mode?: number
): Effect.Effect<A, E | SftpError> =>
  Effect.acquireUseRelease(
    open(sftp, path, flags, mode),
    use,
    (handle) => Effect.ignore(close(sftp, path, handle))
  )

/** Outstanding SFTP requests per transfer (pipelining keeps large transfers fast on slow links). */
const PIPELINE = 16

/** Fills `out[at, at + len)` from file position `position`, looping over short reads; returns the bytes read. */
const readInto = (
  sftp: SFTPWrapper,
  path: string,
  handle: Buffer,
  out: Buffer,
  at: number,
  len: number,
  position: number
): Effect.Effect<number, SftpError> =>
  Effect.gen(function*() {
    let got = 0
    while (got < len) {
      const n = yield* request<number>(sftp, "read", path, (cb) =>
        sftp.read(handle, out, at + got, len - got, position + got, (err, bytesRead) => cb(err, bytesRead)))
      if (n === 0) break
      got += n
    }
    return got
  })

/** Reads `[offset, offset + length)` (shorter at EOF) with pipelined 32 KiB requests. */
export const readRange = (
  sftp: SFTPWrapper,
  path: string,
  handle: Buffer,
  offset: number,
  length: number
): Effect.Effect<Buffer, SftpError> =>
  Effect.gen(function*() {
    const out = Buffer.alloc(length)
    const starts: Array<number> = []
    for (let at = 0; at < length; at += CHUNK) starts.push(at)
    const counts = yield* Effect.forEach(
      starts,
      (at) => readInto(sftp, path, handle, out, at, Math.min(CHUNK, length - at), offset + at),
      { concurrency: PIPELINE }
    )
    // The valid prefix ends at the first short chunk (EOF).
    let total = 0
    for (let i = 0; i < counts.length; i++) {
      total += counts[i]!
      if (counts[i]! < Math.min(CHUNK, length - starts[i]!)) break
    }
    return out.subarray(0, total)
  })

/** Reads a whole file until EOF (sized by `fstat`, then read on until a read returns nothing). */
export const readAll = (sftp: SFTPWrapper, path: string, handle: Buffer): Effect.Effect<Buffer, SftpError> =>
  Effect.gen(function*() {
    const st = yield* request<Stats>(sftp, "fstat", path, (cb) => sftp.fstat(handle, cb))
    const first = yield* readRange(sftp, path, handle, 0, Number(st.size))
    const chunks: Array<Buffer> = [first]
    let position = first.length
    for (;;) {
      const buf = Buffer.alloc(CHUNK)
      const n = yield* readInto(sftp, path, handle, buf, 0, CHUNK, position)
      if (n === 0) break
      chunks.push(buf.subarray(0, n))
      position += n
    }
    return Buffer.concat(chunks)
  })

/** Writes all bytes from position 0 with pipelined 32 KiB requests. */
export const writeAll = (
  sftp: SFTPWrapper,
  path: string,
  handle: Buffer,
  content: Uint8Array
): Effect.Effect<void, SftpError> =>
  Effect.suspend(() => {
    const buf = Buffer.from(content.buffer, content.byteOffset, content.byteLength)
    const starts: Array<number> = []
    for (let at = 0; at < buf.length; at += CHUNK) starts.push(at)
    return Effect.forEach(
      starts,
      (at) =>
        request<void>(sftp, "write", path, (cb) => sftp.write(handle, buf, at, Math.min(CHUNK, buf.length - at), at, (err) => cb(err))),
      { concurrency: PIPELINE, discard: true }
    )
  })

/** Whether the server advertised an OpenSSH extension (`posix-rename@openssh.com`, `fsync@openssh.com`). */
export const hasExtension = (sftp: SFTPWrapper, name: string): boolean => {
  const exts = (sftp as unknown as { _extensions?: Record<string, string> })._extensions
  return exts !== undefined && Object.prototype.hasOwnProperty.call(exts, name)
}
