/**
 * The shared guest precheck (tools.md §1 "Guests", lessons G1) and the power-action pipeline of the three
 * operate tools (tools.md §4): resolve the type through the lists, read `status/current`, audit the
 * intent, POST, wait for the task with progress, re-read the status, audit the outcome.
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  ApiForbidden,
  GuestNotFound,
  WrongGuestType,
  type ApiError,
  type ToolError
} from "@homelab-mcp/core/Errors"
import type { AuditEntry } from "@homelab-mcp/core/audit/AuditRecord"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { Progress } from "@homelab-mcp/core/capabilities/Progress"
import { apiPath, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { Tasks } from "@homelab-mcp/core/capabilities/Tasks"
import { listLxc, listQemu } from "./PveLists.js"

/** The two guest kinds. */
export type GuestType = "lxc" | "qemu"

/** A guest found in the lists. */
export interface Guest {
  readonly vmid: number
  readonly type: GuestType
  readonly node: string
}

/** The vmid parameter (tools.md §1): integer 100..999999999. */
export const Vmid = Schema.Int.pipe(
  Schema.between(100, 999_999_999),
  Schema.annotations({ description: "Guest id (integer 100..999999999)" })
)

/**
 * Resolves a vmid through both API lists; `GuestNotFound` (one wording) when absent, `WrongGuestType`
 * naming `useTool` when `expected` is given and the guest is the other kind.
 */
export const resolveGuest = (
  vmid: number,
  expected?: { readonly type: GuestType; readonly useTool: string }
): Effect.Effect<Guest, ApiError | GuestNotFound | WrongGuestType, PveApi> =>
  Effect.gen(function* () {
    const api = yield* PveApi
    const [lxc, qemu] = yield* Effect.all([listLxc, listQemu], { concurrency: 2 })
    const type: GuestType | undefined = lxc.some((g) => g.vmid === vmid)
      ? "lxc"
      : qemu.some((g) => g.vmid === vmid)
        ? "qemu"
        : undefined
    if (type === undefined) return yield* new GuestNotFound({ vmid, node: api.node })
    if (expected !== undefined && expected.type !== type) {
      return yield* new WrongGuestType({ vmid, actual: type, useTool: expected.useTool })
    }
    return { vmid, type, node: api.node }
  })

const CurrentStatus = Schema.Struct({
  status: Schema.String,
  lock: Schema.optional(Schema.String),
  qmpstatus: Schema.optional(Schema.String)
})

/** Reads `status/current`; a guest that vanished in between is `GuestNotFound`, never the raw PVE text. */
export const currentStatus = (guest: Guest): Effect.Effect<string, ApiError, PveApi> =>
  Effect.gen(function* () {
    const api = yield* PveApi
    const path = apiPath("nodes", guest.node, guest.type, guest.vmid, "status", "current")
    const result = yield* Effect.either(api.get(path, CurrentStatus))
    if (result._tag === "Right") return result.right.status
    const e = result.left
    if ((e._tag === "ApiServerError" || e._tag === "ApiBadRequest") && /does not exist/i.test(e.message)) {
      return yield* new GuestNotFound({ vmid: guest.vmid, node: guest.node })
    }
    return yield* Effect.fail(e)
  })

const VmOsConfig = Schema.Struct({ ostype: Schema.optional(Schema.String) })

/**
 * Reads a VM's `ostype` from `GET …/qemu/{vmid}/config` (`undefined` when unset); a VM that vanished in
 * between is `GuestNotFound`, never the raw PVE text.
 */
export const vmOstype = (guest: Guest): Effect.Effect<string | undefined, ApiError, PveApi> =>
  Effect.gen(function* () {
    const api = yield* PveApi
    const result = yield* Effect.either(api.get(apiPath("nodes", guest.node, "qemu", guest.vmid, "config"), VmOsConfig))
    if (result._tag === "Right") return result.right.ostype
    const e = result.left
    if ((e._tag === "ApiServerError" || e._tag === "ApiBadRequest") && /does not exist/i.test(e.message)) {
      return yield* new GuestNotFound({ vmid: guest.vmid, node: guest.node })
    }
    return yield* Effect.fail(e)
  })

/** A 403 on a power call always names the privilege the operate role grants. */
const namePowerPrivilege = (path: string) => (e: ApiError): ApiError =>
  e._tag === "ApiForbidden" && !e.privileges.includes("VM.PowerMgmt")
    ? new ApiForbidden({ path: e.path === "" ? path : e.path, privileges: ["VM.PowerMgmt"], reason: e.reason })
    : e

/** POSTs a power action (`start`, `stop`, `shutdown`, `reboot`) and returns the task's UPID. */
export const postPower = (
  guest: Guest,
  action: "start" | "stop" | "shutdown" | "reboot",
  params?: Record<string, string | number>
): Effect.Effect<string, ApiError, PveApi> =>
  Effect.flatMap(PveApi, (api) => {
    const path = apiPath("nodes", guest.node, guest.type, guest.vmid, "status", action)
    return api.post(path, Schema.String, params).pipe(Effect.mapError(namePowerPrivilege(`/vms/${guest.vmid}`)))
  })

/** Waits for a task, turning each poll into a progress notification. */
export const waitTask = (upid: string, label: string) =>
  Effect.gen(function* () {
    const tasks = yield* Tasks
    const progress = yield* Progress
    return yield* tasks.wait(upid, {
      onPoll: (elapsedMs) => progress.report(elapsedMs, undefined, `${label}: task running for ${Math.round(elapsedMs / 1000)} s`)
    })
  })

/** Fields every record of one operation shares. */
export interface OpContext {
  readonly opId: string
  readonly tool: string
  readonly startedAt: number
  readonly base: Partial<AuditEntry>
  /** Set when the operation's outcome record is started; shared by every copy of the context. */
  readonly outcome: { started: boolean }
}

/** Starts an operation: a fresh opId and the shared record fields. */
export const beginOp = (tool: string, vmid: number) =>
  Effect.map(Clock.currentTimeMillis, (startedAt): OpContext => ({
    opId: randomUUID(),
    tool,
    startedAt,
    base: { target: `guest:${vmid}`, vmid },
    outcome: { started: false }
  }))

/** Appends a record of the operation; `AuditUnavailable` when it was not durably written. */
export const audit = (op: OpContext, phase: AuditEntry["phase"], fields: Partial<AuditEntry>) =>
  Effect.flatMap(AuditLog, (log) =>
    log.append({ ...op.base, ...fields, opId: op.opId, tool: op.tool, phase } as AuditEntry)
  )

/**
 * Appends the operation's outcome record. A failed append does not fail the tool (backups-audit.md §5): it
 * is logged and its warning returned, for the result to carry; null when the record was written. An append
 * once started completes even if the call is cancelled meanwhile (it is one file write).
 */
export const auditOutcome = (op: OpContext, fields: Partial<AuditEntry>): Effect.Effect<string | null, never, AuditLog> =>
  Effect.suspend(() => {
    op.outcome.started = true
    return audit(op, "outcome", fields)
  }).pipe(
    Effect.as(null),
    Effect.catchAll((e) =>
      Effect.as(
        Effect.logWarning(`audit outcome of ${op.tool} ${op.opId} not written: ${e.reason}`),
        `the audit log could not record this operation's outcome (${e.reason}); it shows the operation as pending`
      )
    ),
    Effect.uninterruptible
  )

/** Audits a refusal (one `refused` record) and fails with the refusal. */
export const refuse = <E extends ToolError>(op: OpContext, error: E) =>
  audit(op, "refused", { refusal: { code: error._tag, reason: error.message } }).pipe(
    Effect.catchAll((e) => Effect.logWarning(`audit refusal of ${op.tool} ${op.opId} not written: ${e.reason}`)),
    Effect.zipRight(Effect.fail(error))
  )

/** Milliseconds since the operation started. */
export const elapsed = (op: OpContext) => Effect.map(Clock.currentTimeMillis, (now) => now - op.startedAt)

/** Appends the `unknown` outcome of an operation interrupted after its intent, unless it has its outcome. */
export const auditInterrupted = (op: OpContext) =>
  Effect.suspend(() =>
    op.outcome.started
      ? Effect.void
      : Effect.asVoid(Effect.flatMap(elapsed(op), (durationMs) => auditOutcome(op, { outcome: "unknown", durationMs, note: "interrupted" })))
  )

/**
 * Runs an audited operation: its intent record (fails with `AuditUnavailable`, and then nothing happens),
 * then `body`. A cancellation never splits them: it waits for the intent, and cancelling `body` leaves
 * the `unknown` outcome unless `body` wrote one. So an intent without outcome means the process died.
 */
export const audited = <A, E, R>(op: OpContext, fields: Partial<AuditEntry>, body: Effect.Effect<A, E, R>) =>
  Effect.uninterruptibleMask((restore) =>
    Effect.zipRight(audit(op, "intent", fields), restore(body).pipe(Effect.onInterrupt(() => auditInterrupted(op))))
  )

/** An error after which the node's state is not known (transport-trust.md §3.3): a timeout, a dropped channel or connection. */
export const isUnknownOutcome = (e: ToolError): boolean =>
  e._tag === "SshTimeout" || e._tag === "SshChannelClosed" || e._tag === "SshUnreachable"

/**
 * Runs the node-touching part of an audited operation: on failure an outcome record is written, `unknown`
 * when the node's state is not known (`isUnknownOutcome`, or interrupted), else `failed`, and the error is
 * passed on.
 */
export const withOutcomeOnFailure = <A, R>(op: OpContext, effect: Effect.Effect<A, ToolError, R>) =>
  effect.pipe(
    Effect.tapError((e) =>
      Effect.flatMap(elapsed(op), (durationMs) =>
        auditOutcome(op, {
          outcome: isUnknownOutcome(e) ? "unknown" : "failed",
          durationMs,
          error: { code: e._tag, message: e.message },
          ...("upid" in e && typeof e.upid === "string" ? { upid: e.upid } : {}),
          ...("exitstatus" in e && typeof e.exitstatus === "string" ? { taskStatus: e.exitstatus } : {})
        })
      )
    ),
    Effect.onInterrupt(() => auditInterrupted(op))
  )

/** The common output fields of the power tools (tools.md §4). */
export const PowerFields = {
  vmid: Schema.Int,
  guestType: Schema.Literal("lxc", "qemu"),
  upid: Schema.NullOr(Schema.String),
  taskStatus: Schema.NullOr(Schema.String),
  status: Schema.String,
  durationMs: Schema.Number,
  opId: Schema.String
} as const
