/**
 * `HostFiles` over the cached SFTP session (transport-trust.md §4.2): `realpath`, `stat`, ranged reads, and
 * atomic writes through a hidden temp sibling with the existing file's mode and owner, fsync, posix-rename
 * (fallback `mv -f` over exec) and a `sha256sum` check.
 */
import { createHash, randomBytes } from "node:crypto"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { SFTPWrapper, Stats } from "ssh2"
import {
  CommandFailed,
  FileNotFound,
  InvalidInput,
  NotADirectory,
  NotARegularFile,
  ParentDirectoryMissing,
  SshTimeout,
  WriteVerificationFailed
} from "@homelab-mcp/core/Errors"
import { type HostDirEntry, HostFiles, type HostFileStat } from "@homelab-mcp/core/capabilities/HostFiles"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import { validateAbsolutePath } from "@homelab-mcp/core/shell/Quote"
import { parseSha256Sum } from "./internal/sshGuest.js"
import * as Sftp from "./internal/sshSftp.js"
import * as NodeShellLive from "./NodeShell.js"
import * as Ssh from "./Ssh.js"

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

const absolute = (path: string) =>
  Either.match(validateAbsolutePath(path), { onLeft: Effect.fail, onRight: Effect.succeed })

const optionalIfMissing = <A, E, R>(self: Effect.Effect<A, E | FileNotFound, R>) =>
  self.pipe(
    Effect.map(Option.some),
    Effect.catchIf((e): e is FileNotFound => (e as { _tag?: string })._tag === "FileNotFound", () => Effect.succeed(Option.none<A>()))
  )

const transfer = (what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.timeoutFail({
      duration: Duration.millis(Sftp.TRANSFER_TIMEOUT_MS),
      onTimeout: () => new SshTimeout({ what, timeoutMs: Sftp.TRANSFER_TIMEOUT_MS })
    })
  )

/** Builds the service on the connection and `NodeShell`. */
export const make = Effect.gen(function*() {
  const ssh = yield* Ssh.Ssh
  const shell = yield* NodeShell
  const sftp = <A, E>(f: (s: SFTPWrapper) => Effect.Effect<A, E>) => ssh.withSftp(f)

  const realpath = Effect.fn("HostFiles.realpath")(function*(path: string) {
    const p = yield* absolute(path)
    return yield* sftp((s) => Sftp.realpath(s, p))
  })

  const stat = Effect.fn("HostFiles.stat")(function*(path: string) {
    const p = yield* absolute(path)
    return yield* optionalIfMissing(sftp((s) => Sftp.stat(s, p)))
  })

  const lstat = Effect.fn("HostFiles.lstat")(function*(path: string) {
    const p = yield* absolute(path)
    return yield* optionalIfMissing(sftp((s) => Sftp.lstat(s, p)))
  })

  const read = Effect.fn("HostFiles.read")(function*(path: string, window: { readonly offset: number; readonly length: number }) {
    const p = yield* absolute(path)
    if (!Number.isSafeInteger(window.offset) || window.offset < 0 || !Number.isSafeInteger(window.length) || window.length < 0) {
      return yield* new InvalidInput({ reason: "offset and length must be integers >= 0.", key: "offset" })
    }
    const bytes = yield* sftp((s) =>
      Effect.gen(function*() {
        const st = yield* Sftp.stat(s, p)
        if (st.type !== "file") return yield* new NotARegularFile({ path, fileType: st.type })
        return yield* Sftp.withHandle(s, p, "r", (h) => Sftp.readRange(s, p, h, window.offset, window.length))
      })
    ).pipe(transfer(`SFTP read of ${p}`))
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  })

  const rename = (s: SFTPWrapper, from: string, to: string) =>
    Sftp.hasExtension(s, "posix-rename@openssh.com")
      ? Sftp.request<void>(s, "posix-rename", to, (cb) => s.ext_openssh_rename(from, to, cb))
      : shell.exec(["mv", "-f", "--", from, to]).pipe(
        Effect.flatMap((r) =>
          r.exitCode === 0
            ? Effect.void
            : Effect.fail(new CommandFailed({ command: `mv -f -- ${from} ${to}`, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) }))
        )
      )

  const write = Effect.fn("HostFiles.write")(function*(
    path: string,
    content: Uint8Array,
    options?: { readonly mode?: number }
  ) {
    const p = yield* absolute(path)
    const slash = p.lastIndexOf("/")
    const dir = slash <= 0 ? "/" : p.slice(0, slash)
    const name = p.slice(slash + 1)
    if (name === "") return yield* new InvalidInput({ reason: `${path} names a directory, not a file.`, key: "path" })
    const requestedMode = options?.mode ?? 0o644
    if (!Number.isInteger(requestedMode) || requestedMode < 0 || requestedMode > 0o7777) {
      return yield* new InvalidInput({ reason: "mode must be an octal permission like 0644.", key: "mode" })
    }
    const tmp = `${dir === "/" ? "" : dir}/.${name}.mcp-${randomBytes(6).toString("hex")}`
    const existing = yield* optionalIfMissing(sftp((s) => Sftp.stat(s, p)))
    if (Option.isSome(existing) && existing.value.type !== "file") {
      return yield* new NotARegularFile({ path, fileType: existing.value.type })
    }
    if (Option.isNone(existing)) {
      const parent = yield* optionalIfMissing(sftp((s) => Sftp.stat(s, dir)))
      if (Option.isNone(parent) || parent.value.type !== "directory") return yield* new ParentDirectoryMissing({ path })
    }
    const mode = Option.isSome(existing) ? existing.value.mode : requestedMode
    yield* sftp((s) =>
      Effect.gen(function*() {
        yield* Sftp.withHandle(
          s,
          tmp,
          "wx",
          (h) =>
            Effect.gen(function*() {
              yield* Sftp.writeAll(s, tmp, h, content)
              const attrs = Option.isSome(existing)
                ? { mode, uid: existing.value.uid, gid: existing.value.gid }
                : { mode }
              // Some filesystems (pmxcfs under /etc/pve) refuse chmod/chown but already impose the right
              // mode and owner; accept that, refuse anything else.
              yield* Sftp.request<void>(s, "fsetstat", tmp, (cb) => s.fsetstat(h, attrs, cb)).pipe(
                Effect.catchTag("CommandFailed", (e) =>
                  Sftp.request<Stats>(s, "fstat", tmp, (cb) => s.fstat(h, cb)).pipe(
                    Effect.map(Sftp.toStat),
                    Effect.flatMap((st) =>
                      st.mode === attrs.mode && (!("uid" in attrs) || (st.uid === attrs.uid && st.gid === attrs.gid))
                        ? Effect.void
                        : Effect.fail(e)
                    )
                  ))
              )
              if (Sftp.hasExtension(s, "fsync@openssh.com")) {
                yield* Sftp.request<void>(s, "fsync", tmp, (cb) => s.ext_openssh_fsync(h, (err) => cb(err)))
              }
            }),
          0o600
        )
        yield* rename(s, tmp, p)
      }).pipe(Effect.onError(() => Effect.ignore(Sftp.unlink(s, tmp))))
    ).pipe(transfer(`SFTP write of ${p}`))
    const sum = yield* shell.output(["sha256sum", "--", p])
    const actual = parseSha256Sum(sum)
    const expected = sha256(content)
    if (actual !== expected) return yield* new WriteVerificationFailed({ path, expected, actual })
    const after = yield* sftp((s) => Sftp.stat(s, p))
    return { sha256: actual, newFile: Option.isNone(existing), mode: after.mode, uid: after.uid, gid: after.gid }
  })

  const readdir = Effect.fn("HostFiles.readdir")(function*(path: string) {
    const p = yield* absolute(path)
    return yield* sftp((s) =>
      Effect.gen(function*() {
        const st = yield* Sftp.stat(s, p)
        if (st.type !== "directory") return yield* new NotADirectory({ path })
        const list = yield* Sftp.readdir(s, p)
        const base = p === "/" ? "" : p.replace(/\/+$/, "")
        const entries = yield* Effect.forEach(
          list.filter((e) => e.filename !== "." && e.filename !== ".."),
          (e) =>
            Effect.gen(function*() {
              const full = `${base}/${e.filename}`
              const l = yield* Sftp.lstat(s, full).pipe(
                Effect.catchTag("FileNotFound", () => Effect.succeed(Sftp.toStat(e.attrs)))
              )
              const linkTarget = l.type === "symlink"
                ? yield* Sftp.readlink(s, full).pipe(Effect.option, Effect.map(Option.getOrUndefined))
                : undefined
              const entry: HostDirEntry = { name: e.filename, ...l, ...(linkTarget !== undefined ? { linkTarget } : {}) }
              return entry
            }),
          { concurrency: 8 }
        )
        return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      })
    )
  })

  const readlink = Effect.fn("HostFiles.readlink")(function*(path: string) {
    const p = yield* absolute(path)
    return yield* sftp((s) => Sftp.readlink(s, p))
  })

  const unlink = Effect.fn("HostFiles.unlink")(function*(path: string) {
    const p = yield* absolute(path)
    yield* sftp((s) => Sftp.unlink(s, p)).pipe(Effect.catchTag("FileNotFound", () => Effect.void))
  })

  return HostFiles.of({ realpath, stat, lstat, read, write, readdir, readlink, unlink })
})

/** `HostFiles` on an `Ssh` connection and `NodeShell` provided elsewhere. */
export const layerFromSsh: Layer.Layer<HostFiles, never, Ssh.Ssh | NodeShell> = Layer.effect(HostFiles, make)

/** `HostFiles` plus `NodeShell` and their own connection from plain options. */
export const layer = (options: Ssh.SshOptions) =>
  layerFromSsh.pipe(Layer.provideMerge(NodeShellLive.layerFromSsh), Layer.provideMerge(Ssh.layer(options)))

/** `HostFiles` plus `NodeShell` on the shared connection from the environment. */
export const layerConfig = layerFromSsh.pipe(
  Layer.provideMerge(NodeShellLive.layerFromSsh),
  Layer.provideMerge(Ssh.layerConfig)
)

/** The stat shape `HostFiles` returns (re-exported from core). */
export type { HostFileStat }
