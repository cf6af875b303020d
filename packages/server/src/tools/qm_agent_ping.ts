/**
 * `qm_agent_ping` (tools.md §5): is the VM's QEMU guest agent answering? Over the API
 * (`POST …/agent/ping`), falling back to `qm agent <vmid> ping` over SSH when the token lacks the
 * privilege (Proxmox VE 8 wants VM.Monitor). A missing, disabled or silent agent is `available:false`
 * with a reason, never an error.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import { apiPath, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import { redactText } from "@homelab-mcp/core/redaction/Redact"
import * as Guests from "../internal/Guests.js"

/** Input of `qm_agent_ping`. */
export const Input = Schema.Struct({ vmid: Guests.Vmid })

/** Output of `qm_agent_ping`. */
export const Output = Schema.Struct({
  vmid: Schema.Int,
  available: Schema.Boolean,
  agentConfigured: Schema.Boolean,
  reason: Schema.optional(Schema.String),
  via: Schema.Literal("api", "ssh")
})

const VmConfig = Schema.Struct({ agent: Schema.optional(Schema.Union(Schema.String, Schema.Number)) })

/** True for `agent: 1` or an `enabled=1` property string (`1,fstrim_cloned_disks=1` too). */
export const agentEnabled = (agent: string | number | undefined): boolean => {
  if (agent === undefined) return false
  const text = String(agent).trim()
  const parts = text.split(",").map((p) => p.trim())
  return parts.some((p) => p === "1" || p === "enabled=1")
}

/** Pings the agent. */
export const qm_agent_ping = Tool.make(
  {
    name: "qm_agent_ping",
    title: "Ping a VM's guest agent",
    description:
      "Checks whether the QEMU guest agent of a VM answers (needed by qm_exec, qm_read_file, qm_write_file). Uses the API and falls back to `qm agent <vmid> ping` over SSH when the token lacks the privilege. A missing, disabled or silent agent is available:false with the reason; agentConfigured says whether the VM's options enable the agent.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  (input) =>
    Effect.gen(function* () {
      const api = yield* PveApi
      const guest = yield* Guests.resolveGuest(input.vmid, { type: "qemu", useTool: "pct_exec (containers have no guest agent)" })
      const config = yield* api.get(apiPath("nodes", guest.node, "qemu", guest.vmid, "config"), VmConfig)
      const agentConfigured = agentEnabled(config.agent)
      const status = yield* Guests.currentStatus(guest)
      const answer = (available: boolean, via: "api" | "ssh", reason?: string) => ({
        vmid: input.vmid,
        available,
        agentConfigured,
        via,
        ...(reason !== undefined ? { reason } : {})
      })
      if (status !== "running") return answer(false, "api", `VM ${input.vmid} is ${status}`)
      if (!agentConfigured) return answer(false, "api", "the guest agent is not enabled in the VM's options (agent: 1)")
      const viaApi = yield* api
        .post(apiPath("nodes", guest.node, "qemu", guest.vmid, "agent", "ping"), Schema.Unknown)
        .pipe(Effect.either)
      if (viaApi._tag === "Right") return answer(true, "api")
      const e = viaApi.left
      if (e._tag === "GuestAgentUnavailable") return answer(false, "api", e.reason)
      if (e._tag === "GuestNotRunning") return answer(false, "api", `VM ${input.vmid} is not running`)
      if (e._tag !== "ApiForbidden") return yield* Effect.fail(e)
      const shell = yield* NodeShell
      const result = yield* shell.exec(["qm", "agent", String(input.vmid), "ping"], { timeoutMs: 30_000 })
      if (result.exitCode === 0) return answer(true, "ssh")
      const reason = redactText(result.stderr.trim().split("\n")[0] ?? "").text || `qm agent ping exited ${result.exitCode ?? "without a status"}`
      return answer(false, "ssh", reason)
    })
)
