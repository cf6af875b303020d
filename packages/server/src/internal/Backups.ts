/**
 * Shared by the backup tools (`list_backups`, `diff_config`, `revert_file`): the target a call names,
 * opened the same way every time (lessons G6), and the live state read once for revertibility.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { TierRequired, type ToolError } from "@homelab-mcp/core/Errors"
import * as Target from "@homelab-mcp/core/backup/Target"
import { BackupStore, type LiveState, type Previous, type VersionView } from "@homelab-mcp/core/capabilities/BackupStore"
import type { GuestFiles } from "@homelab-mcp/core/capabilities/GuestFiles"
import type { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import { Limits } from "../Limits.js"
import * as FilePaths from "./FilePaths.js"
import * as Guests from "./Guests.js"
import * as Targets from "./Targets.js"

/** The optional `vmid` of the backup tools: absent means a host file. */
export const OptionalVmid = Schema.optional(Guests.Vmid.annotations({ description: "The guest; omit for a host file (host targets need root)" }))

/** The target and version parameters of `diff_config` and `revert_file`. */
export const VersionTargetFields = {
  path: FilePaths.PathParam,
  vmid: OptionalVmid,
  versionId: Schema.optional(
    Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)).annotations({ description: "A version from list_backups; default: the newest revertible one" })
  )
} as const

/** Host targets (no `vmid`) of `diff_config` and `revert_file` need root: `TierRequired` below it. */
export const requireGuest = (vmid: number | undefined, what: string): Effect.Effect<number, TierRequired, ServerInfo> =>
  vmid !== undefined
    ? Effect.succeed(vmid)
    : Effect.flatMap(ServerInfo, (info) => Effect.fail(new TierRequired({ required: "root", active: info.tier, what: `${what} of a host file (no vmid)` })))

/** The live state of a target, for listing: the file read once, or why it could not be read. */
export interface Located {
  readonly target: Target.Target
  readonly io: Targets.TargetIo | null
  readonly current: (Previous & { readonly meta: Targets.FileMeta | null }) | null
  readonly live: LiveState
  /** Why the guest's file could not be read (a stopped guest, a missing directory…); null when it was, or for a host file. */
  readonly readError: ToolError | null
}

/** Why a before-state of `bytes` cannot be written back under `limit`. */
export const overRestoreLimit = (bytes: number, limit: number) =>
  `its content is ${bytes} bytes, more than the ${limit} bytes the guest agent can write back`

/**
 * The target's versions newest first, classified against the live state (BackupStore.list); a version
 * whose content the target's transport cannot write back (over `restoreLimitOf`) is not revertible.
 */
export const versions = (located: Located): Effect.Effect<ReadonlyArray<VersionView>, never, BackupStore | Limits> =>
  Effect.gen(function* () {
    const store = yield* BackupStore
    const views = yield* store.list(located.target.descriptor, located.live)
    const limit = Targets.restoreLimitOf(located.target, yield* Limits)
    if (limit === undefined) return views
    return views.map((v): VersionView =>
      v.revertible && v.record.kind !== "absent" && v.record.beforeBytes > limit
        ? { record: v.record, revertible: false, revertReason: overRestoreLimit(v.record.beforeBytes, limit) }
        : v
    )
  })

/** The live state a read gives. */
export const liveOf = (current: Previous): LiveState =>
  current.exists ? { status: "present", sha256: Targets.sha256(current.bytes), bytes: current.bytes } : { status: "absent" }

/**
 * Locates the target for listing: the guest's file when it can be read, else the descriptor of the
 * canonical path with an `unknown` live state saying why (a stopped guest, a host file below root).
 */
export const locate = (
  vmid: number | undefined,
  path: string
): Effect.Effect<Located, ToolError, PveApi | GuestFiles | Limits | ServerInfo> =>
  Effect.gen(function* () {
    const limits = yield* Limits
    if (vmid === undefined) {
      const canonical = yield* FilePaths.check(path, "host", limits)
      const info = yield* ServerInfo
      return {
        target: Target.host(canonical),
        io: null,
        current: null,
        live: { status: "unknown", reason: `host files are read only at the root tier (this server runs at ${info.tier})` },
        readError: null
      }
    }
    const guest = yield* Guests.resolveGuest(vmid)
    const opened = yield* Effect.either(
      guest.type === "lxc" ? Targets.openPct(vmid, path, { forWrite: true, guest }) : Targets.openQm(vmid, path, { guest })
    )
    if (opened._tag === "Left") {
      const e = opened.left
      if (e._tag !== "GuestNotRunning" && e._tag !== "ParentDirectoryMissing") return yield* Effect.fail(e)
      const canonical = yield* FilePaths.check(path, "guest", limits)
      const target = guest.type === "lxc" ? Target.pct(vmid, canonical) : Target.qm(vmid, canonical)
      return { target, io: null, current: null, live: { status: "unknown", reason: e.message }, readError: e }
    }
    const io = opened.right
    const current = yield* Effect.either(io.readCurrent)
    if (current._tag === "Left") {
      return { target: io.target, io, current: null, live: { status: "unknown", reason: current.left.message }, readError: current.left }
    }
    return { target: io.target, io, current: current.right, live: liveOf(current.right), readError: null }
  })
