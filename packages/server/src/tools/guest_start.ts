/**
 * `guest_start` (tools.md §4): starts an LXC container or QEMU VM and reports the task's real exit status.
 * A running guest is a no-op without any POST (lessons G2).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import * as Guests from "../internal/Guests.js"

/** Input of `guest_start`. */
export const Input = Schema.Struct({ vmid: Guests.Vmid })

/** Output of `guest_start`. */
export const Output = Schema.Struct({ ...Guests.PowerFields, alreadyRunning: Schema.Boolean })

/** Starts the guest, waits for the Proxmox task, re-reads the status; audited intent → outcome. */
export const guest_start = Tool.make(
  {
    name: "guest_start",
    title: "Start a guest",
    description:
      "Starts an LXC container or QEMU VM by vmid, waits for the Proxmox task and reports its real exit status and the guest's status afterwards. A running guest is a no-op (alreadyRunning:true). Audited.",
    tier: "operate",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F F T F")
  },
  (input) =>
    Effect.gen(function* () {
      const op0 = yield* Guests.beginOp("guest_start", input.vmid)
      const guest = yield* Guests.resolveGuest(input.vmid)
      const op = { ...op0, base: { ...op0.base, guestType: guest.type } }
      const before = yield* Guests.currentStatus(guest)
      if (before === "running") {
        const durationMs = yield* Guests.elapsed(op)
        yield* Guests.auditOutcome(op, { outcome: "noop", durationMs, note: "already running" })
        return { vmid: guest.vmid, guestType: guest.type, upid: null, taskStatus: null, status: before, durationMs, opId: op.opId, alreadyRunning: true }
      }
      return yield* Guests.audited(
        op,
        { note: `start (was ${before})` },
        Effect.gen(function* () {
          const { upid, outcome, status } = yield* Guests.withOutcomeOnFailure(
            op,
            Effect.gen(function* () {
              const upid = yield* Guests.postPower(guest, "start")
              const outcome = yield* Guests.waitTask(upid, `starting ${guest.vmid}`)
              const status = yield* Guests.currentStatus(guest)
              return { upid, outcome, status }
            })
          )
          const durationMs = yield* Guests.elapsed(op)
          yield* Guests.auditOutcome(op, { outcome: "ok", upid, taskStatus: outcome.exitstatus, durationMs })
          return { vmid: guest.vmid, guestType: guest.type, upid, taskStatus: outcome.exitstatus, status, durationMs, opId: op.opId, alreadyRunning: false }
        })
      )
    })
)
