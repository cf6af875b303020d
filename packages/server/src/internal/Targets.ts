/**
 * File targets of the companion tools (tools.md §1 "Targets", transport-trust.md §4): one way to open a
 * `pct:` or `qm:` target for every tool (lessons G6) — path validated, guest found and running, the path
 * resolved on the target and re-validated — giving a `TargetIo` that reads the current state once and
 * writes or removes it. Host targets (`host:`) need root (a later issue): `TierRequired` below it.
 */
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import {
  FileNotFound,
  FileTooLarge,
  GuestNotRunning,
  NotARegularFile,
  ParentDirectoryMissing,
  PathRejected,
  TierRequired,
  type ToolError
} from "@homelab-mcp/core/Errors"
import * as Target from "@homelab-mcp/core/backup/Target"
import type { Previous } from "@homelab-mcp/core/backup/WritePlan"
import type { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { GuestFiles, type PctFileState, type PctStaged } from "@homelab-mcp/core/capabilities/GuestFiles"
import type { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import { Limits, type LimitsShape } from "../Limits.js"
import * as FilePaths from "./FilePaths.js"
import * as Guests from "./Guests.js"

/** The agent transfers at most 16 MiB per file-read call. */
export const QM_READ_CHUNK = 16 * 1024 * 1024

/** The agent writes at most 46080 raw bytes per call (61440 base64 characters). */
export const QM_WRITE_LIMIT = 46_080

/** The most a VM file's content may hold to be written back through the agent. */
const qmRestoreLimit = (limits: LimitsShape): number => Math.min(QM_WRITE_LIMIT, limits.qmWriteMaxBytes)

/** The most a version's before-state may hold to be written back to the target: a VM's agent writes 46080 bytes at most. */
export const restoreLimitOf = (target: Target.Target, limits: LimitsShape): number | undefined =>
  target.kind === "qm" ? qmRestoreLimit(limits) : undefined

/** Mode and owner of a file, when the transport knows them. */
export interface FileMeta {
  readonly mode: string
  readonly uid: number
  readonly gid: number
}

/** An opened file target. */
export interface TargetIo {
  readonly target: Target.Target
  readonly vmid: number
  readonly guestType: Guests.GuestType
  /** The path as the caller gave it (canonical form). */
  readonly path: string
  /** The symlink-resolved path the operation addresses (equal to `path` when nothing was followed). */
  readonly resolvedPath: string
  /** Restores above this size cannot go back through the transport (qm agent limit). */
  readonly restoreLimitBytes?: number
  /** The file's state, read once: a typed absent, or bytes plus mode and owner where known. */
  readonly readCurrent: Effect.Effect<Previous & { readonly meta: FileMeta | null }, ToolError>
  /** The state read while opening (`prefetch`), valid for the caller to use when nothing wrote the target since. */
  readonly prefetched: (Previous & { readonly meta: FileMeta | null }) | null
  /** Replaces the content (temp + rename for containers, in place through the agent); returns the hash read back. */
  readonly write: (content: Uint8Array, meta: FileMeta | null) => Effect.Effect<{ readonly sha256: string }, ToolError>
  /** Deletes the file (reverting a create). */
  readonly remove: Effect.Effect<void, ToolError>
  /** New files get these (containers: MCP_CONTAINER_NEW_FILE_*; VMs: the agent's defaults). */
  readonly newFileMeta: FileMeta | null
}

/** `Guests.beginOp` on an opened target: the audit base names the target, guest type, path and where it resolved. */
export const beginFileOp = (tool: string, io: TargetIo) =>
  Effect.map(Guests.beginOp(tool, io.vmid), (op) => ({
    ...op,
    base: {
      ...op.base,
      target: io.target.descriptor,
      guestType: io.guestType,
      path: io.path,
      ...(io.resolvedPath !== io.path ? { resolvedPath: io.resolvedPath } : {})
    }
  }))

/**
 * The one `refused` record (backups-audit.md §5) of an audited file tool refused for its path (the path
 * rules, before or after resolving it) or its tier (a host target below root), then the same failure.
 * Dry runs are not audited, so a dry run's refusal is only returned.
 */
export const auditRefusals = (
  tool: string,
  where: { readonly vmid: number | undefined; readonly kind: "pct" | "qm" | "guest"; readonly path: string; readonly dryRun: boolean }
) =>
<A, E extends ToolError, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | AuditLog> =>
  where.dryRun
    ? self
    : Effect.catchIf(
      self,
      (e): e is E & (PathRejected | TierRequired) => e._tag === "PathRejected" || e._tag === "TierRequired",
      (e) =>
        Effect.flatMap(Guests.beginOp(tool, where.vmid ?? 0), (op) => {
          // a target names a canonical absolute path; a refused one may be neither
          const absolute = where.path.startsWith("/") && !where.path.includes("\0")
          const target = where.vmid === undefined
            ? absolute ? `host:${where.path}` : undefined
            : absolute && where.kind !== "guest" ? `${where.kind}:${where.vmid}:${where.path}` : `guest:${where.vmid}`
          const base = {
            ...(target !== undefined ? { target } : {}),
            ...(where.vmid !== undefined ? { vmid: where.vmid } : {}),
            ...(where.kind === "pct" ? { guestType: "lxc" as const } : where.kind === "qm" ? { guestType: "qemu" as const } : {}),
            path: where.path,
            ...(e._tag === "PathRejected" && e.resolved !== undefined && e.resolved !== where.path ? { resolvedPath: e.resolved } : {})
          }
          return Guests.refuse({ ...op, base }, e)
        })
    )

/** Hex SHA-256 of bytes. */
export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

const modeNumber = (mode: string): number => parseInt(mode, 8)

/** Converts a state's meta into the numeric fields `Previous` carries. */
const withMeta = (bytes: Uint8Array, meta: FileMeta | null): Previous & { readonly meta: FileMeta | null } => ({
  exists: true,
  bytes,
  mode: meta === null ? null : modeNumber(meta.mode),
  uid: meta?.uid ?? null,
  gid: meta?.gid ?? null,
  meta
})

const absent = { exists: false as const, meta: null }

/** Options of opening a target. */
export interface OpenOptions {
  /** For writes: a missing parent directory is `ParentDirectoryMissing` instead of `FileNotFound`. */
  readonly forWrite: boolean
  /** Read the file's state while resolving (one round trip); the write pipeline uses it when nothing changed since. */
  readonly prefetch?: boolean
  /** Containers: the write's upload, started ahead (`GuestFiles.pctStage`); the write waits for it. */
  readonly staged?: Effect.Effect<PctStaged, ToolError>
  /** The guest, when the caller already resolved it through the lists (no second lookup). */
  readonly guest?: Guests.Guest
}

/** The container must exist (through the API lists, unless the caller already resolved it), be an LXC and run. */
const runningLxc = (vmid: number, known: Guests.Guest | undefined) =>
  Effect.gen(function* () {
    const guest = known ?? (yield* Guests.resolveGuest(vmid, { type: "lxc", useTool: "the qm_* file tools" }))
    const status = yield* Guests.currentStatus(guest)
    if (status !== "running") return yield* new GuestNotRunning({ vmid, status })
  })

/**
 * Runs a container operation on the node; only when it fails are the API's checks (exists, is an LXC, runs)
 * made, and their error wins. A `pct exec` that succeeded already proves all three on this node, so the
 * usual call costs no API request.
 */
const onRunningLxc = <A, E, R>(vmid: number, known: Guests.Guest | undefined, op: Effect.Effect<A, E, R>) =>
  Effect.catchAll(op, (e) => Effect.zipRight(runningLxc(vmid, known), Effect.fail(e)))

/** A whole container file read in one round trip. */
export interface WholeRead {
  readonly path: string
  readonly resolvedPath: string
  readonly bytes: Uint8Array
}

/**
 * Reads `pct:<vmid>:<path>` whole when it is at most `maxBytes`: validated, the container running, then
 * one `pct exec` resolves, stats and streams it; the resolved path is re-validated before any byte is
 * returned. Missing is `FileNotFound`, a directory or device `NotARegularFile`, a bigger file `FileTooLarge`.
 */
export const readPct = (vmid: number, path: string, maxBytes: number): Effect.Effect<WholeRead, ToolError, PveApi | GuestFiles | Limits> =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const files = yield* GuestFiles
    const canonical = yield* FilePaths.check(path, "guest", limits)
    const state = yield* onRunningLxc(vmid, undefined, files.pctReadState(vmid, canonical, { maxBytes }))
    if (Option.isNone(state.resolved)) return yield* new FileNotFound({ path: canonical })
    const resolvedPath = yield* FilePaths.recheck(canonical, state.resolved.value, "guest", limits)
    if (Option.isNone(state.file)) return yield* new FileNotFound({ path: resolvedPath })
    const { stat, content } = state.file.value
    if (stat.type !== "file") return yield* new NotARegularFile({ path: resolvedPath, fileType: stat.fileType })
    if (content === null) return yield* new FileTooLarge({ path: resolvedPath, bytes: stat.size, limit: maxBytes })
    return { path: canonical, resolvedPath, bytes: content }
  })

/**
 * Starts uploading a container write's content to a node temp file (`GuestFiles.pctStage`) and returns the
 * wait for it. When the caller's scope closes, the upload is first interrupted and awaited, then its temp
 * file removed, so no upload can recreate the file after its removal.
 */
export const stagePct = (content: Uint8Array): Effect.Effect<Effect.Effect<PctStaged, ToolError>, never, GuestFiles | Scope.Scope> =>
  Effect.gen(function* () {
    const files = yield* GuestFiles
    const staging = yield* Scope.make()
    // finalizers run in reverse: this one (the temp file) after the fiber's interruption registered below
    yield* Effect.addFinalizer((exit) => Scope.close(staging, exit))
    const fiber = yield* Effect.forkScoped(Scope.extend(files.pctStage(content), staging))
    return Fiber.join(fiber)
  })

/** Opens `pct:<vmid>:<path>`: the container must exist, be an LXC and run; the path is resolved with `readlink -f`. */
export const openPct = (
  vmid: number,
  path: string,
  options: OpenOptions
): Effect.Effect<TargetIo, ToolError, PveApi | GuestFiles | Limits> =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const files = yield* GuestFiles
    const canonical = yield* FilePaths.check(path, "guest", limits)
    // With prefetch, the state is read while resolving (one round trip). The API's guest checks run only when
    // the node's call fails; their errors (not found, wrong type, not running) come first.
    const early = options.prefetch === true
      ? yield* onRunningLxc(vmid, options.guest, files.pctReadState(vmid, canonical, { maxBytes: limits.writeMaxBytes }))
      : null
    const fileState = (state: PctFileState, at: string) =>
      Effect.gen(function* () {
        if (Option.isNone(state.file)) return absent
        const { stat, content } = state.file.value
        if (stat.type !== "file") return yield* new NotARegularFile({ path: at, fileType: stat.fileType })
        const meta = { mode: stat.mode, uid: stat.uid, gid: stat.gid }
        const bytes = content ?? (yield* files.pctRead(vmid, at, { expectedSize: stat.size }))
        return withMeta(bytes, meta)
      })
    const missingParent = options.forWrite ? new ParentDirectoryMissing({ path: canonical }) : new FileNotFound({ path: canonical })
    let resolvedPath: string
    let prefetched: (Previous & { readonly meta: FileMeta | null }) | null = null
    if (early !== null) {
      const state = early
      if (Option.isNone(state.resolved)) return yield* missingParent
      resolvedPath = yield* FilePaths.recheck(canonical, state.resolved.value, "guest", limits)
      prefetched = yield* fileState(state, resolvedPath)
    } else {
      const resolvedOpt = yield* onRunningLxc(vmid, options.guest, files.pctResolve(vmid, canonical))
      if (Option.isNone(resolvedOpt)) return yield* missingParent
      resolvedPath = yield* FilePaths.recheck(canonical, resolvedOpt.value, "guest", limits)
    }
    // One round trip: re-resolve, stat and stream the bytes (up to MCP_WRITE_MAX_BYTES; a larger previous
    // file is copied with pct pull). A path whose link changed since it was opened is refused.
    const readCurrent = Effect.gen(function* () {
      const state = yield* files.pctReadState(vmid, resolvedPath, { maxBytes: limits.writeMaxBytes })
      if (Option.isNone(state.resolved)) return yield* new ParentDirectoryMissing({ path: resolvedPath })
      if (state.resolved.value !== resolvedPath) {
        return yield* new PathRejected({ path: canonical, reason: "it resolves elsewhere than when the call started (a link changed meanwhile); retry", resolved: state.resolved.value })
      }
      return yield* fileState(state, resolvedPath)
    })
    return {
      target: Target.pct(vmid, resolvedPath),
      vmid,
      guestType: "lxc" as const,
      path: canonical,
      resolvedPath,
      readCurrent,
      prefetched,
      write: (content, meta) =>
        Effect.flatMap(options.staged ?? Effect.succeed(undefined), (staged) =>
          files.pctWrite(vmid, resolvedPath, content, {
            ...(meta ?? { mode: limits.containerNewFileMode, uid: limits.containerNewFileUid, gid: limits.containerNewFileGid }),
            ...(staged !== undefined ? { staged } : {})
          })),
      remove: files.pctRemove(vmid, resolvedPath),
      newFileMeta: { mode: limits.containerNewFileMode, uid: limits.containerNewFileUid, gid: limits.containerNewFileGid }
    }
  })

/** Opens `qm:<vmid>:<path>`: the VM must exist and run; VM paths are used as given (a documented limit). */
export const openQm = (
  vmid: number,
  path: string,
  options: { readonly guest?: Guests.Guest } = {}
): Effect.Effect<TargetIo, ToolError, PveApi | GuestFiles | Limits> =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const files = yield* GuestFiles
    const canonical = yield* FilePaths.check(path, "guest", limits)
    const guest = options.guest ?? (yield* Guests.resolveGuest(vmid, { type: "qemu", useTool: "the pct_* file tools" }))
    const status = yield* Guests.currentStatus(guest)
    if (status !== "running") return yield* new GuestNotRunning({ vmid, status })
    // Only a file missing from the start is absent (a new file); a directory at the path fails
    // `NotARegularFile` from `qmRead`, as `openPct`'s state read does, and every other failure stays as it is.
    const readCurrent = Effect.gen(function* () {
      const chunks: Array<Uint8Array> = []
      let offset = 0
      for (;;) {
        const read = yield* files.qmRead(vmid, canonical, { offset, count: QM_READ_CHUNK }).pipe(
          Effect.map(Option.some),
          Effect.catchTag("FileNotFound", () => Effect.succeed(Option.none()))
        )
        if (Option.isNone(read)) {
          if (offset === 0) return absent
          return yield* new FileNotFound({ path: canonical })
        }
        chunks.push(read.value.content)
        offset += read.value.content.length
        if (read.value.eof || read.value.content.length === 0) break
      }
      return withMeta(Buffer.concat(chunks), null)
    })
    return {
      target: Target.qm(vmid, canonical),
      vmid,
      guestType: "qemu" as const,
      path: canonical,
      resolvedPath: canonical,
      restoreLimitBytes: qmRestoreLimit(limits),
      readCurrent,
      prefetched: null,
      write: (content) => files.qmWrite(vmid, canonical, content),
      remove: files.qmRemove(vmid, canonical),
      newFileMeta: null
    }
  })

/**
 * Opens the target a backup tool names (`diff_config`, `revert_file`, `list_backups`): with `vmid` the
 * guest's kind decides `pct:` or `qm:`; without it the target is the host, which needs root.
 */
export const openForBackups = (
  vmid: number | undefined,
  path: string,
  what: string
): Effect.Effect<TargetIo, ToolError, PveApi | GuestFiles | Limits | ServerInfo> =>
  Effect.gen(function* () {
    if (vmid === undefined) {
      const info = yield* ServerInfo
      return yield* new TierRequired({ required: "root", active: info.tier, what: `${what} of a host file (no vmid)` })
    }
    const guest = yield* Guests.resolveGuest(vmid)
    return guest.type === "lxc" ? yield* openPct(vmid, path, { forWrite: true, guest }) : yield* openQm(vmid, path, { guest })
  })
