/**
 * `guest_restart` (tools.md §4): graceful reboot of a running guest, then status polling until it runs
 * again. A stopped guest is refused with `GuestNotRunning`, never silently started.
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { GuestNotRunning } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import * as Guests from "../internal/Guests.js"

/** Input of `guest_restart`. */
export const Input = Schema.Struct({ vmid: Guests.Vmid })

/** Output of `guest_restart`. */
export const Output = Schema.Struct(Guests.PowerFields)

/** How often and how long the status is re-read after the reboot task until the guest runs again. */
const untilRunning = Schedule.spaced("500 millis").pipe(Schedule.intersect(Schedule.recurs(60)))

/** Reboots the guest; audited intent → outcome, refusal when it is not running. */
export const guest_restart = Tool.make(
  {
    name: "guest_restart",
    title: "Restart a guest",
    description:
      "Gracefully reboots a running LXC container or QEMU VM by vmid, waits for the Proxmox task, then re-reads the status until the guest runs again (up to about 30 s) and reports it. A stopped guest is refused (use guest_start). Audited.",
    tier: "operate",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T F F")
  },
  (input) =>
    Effect.gen(function* () {
      const op0 = yield* Guests.beginOp("guest_restart", input.vmid)
      const guest = yield* Guests.resolveGuest(input.vmid)
      const op = { ...op0, base: { ...op0.base, guestType: guest.type } }
      const before = yield* Guests.currentStatus(guest)
      if (before !== "running") return yield* Guests.refuse(op, new GuestNotRunning({ vmid: guest.vmid, status: before }))
      return yield* Guests.audited(
        op,
        { note: "reboot" },
        Effect.gen(function* () {
          const { upid, outcome, status } = yield* Guests.withOutcomeOnFailure(
            op,
            Effect.gen(function* () {
              const upid = yield* Guests.postPower(guest, "reboot")
              const outcome = yield* Guests.waitTask(upid, `restarting ${guest.vmid}`)
              const status = yield* Guests.currentStatus(guest).pipe(
                Effect.filterOrFail((s) => s === "running", (s) => s),
                Effect.retry({ schedule: untilRunning, while: (s) => typeof s === "string" }),
                Effect.catchIf((s): s is string => typeof s === "string", (s) => Effect.succeed(s))
              )
              return { upid, outcome, status }
            })
          )
          const durationMs = yield* Guests.elapsed(op)
          yield* Guests.auditOutcome(op, {
            outcome: status === "running" ? "ok" : "failed",
            upid,
            taskStatus: outcome.exitstatus,
            durationMs,
            ...(status === "running" ? {} : { note: `guest is ${status} after the reboot` })
          })
          return { vmid: guest.vmid, guestType: guest.type, upid, taskStatus: outcome.exitstatus, status, durationMs, opId: op.opId }
        })
      )
    })
)
