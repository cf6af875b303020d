/** The `pve-8.4` profile: 8.x roles, the guest agent guarded by VM.Monitor (tier tokens get 403), 8.4.1 identity. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { builtinRoleTable, privilegesOf } from "../src/state/Access.js"
import * as Sandbox from "../src/Sandbox.js"
import { call } from "./support/api.js"

describe("pve-8.4 profile", () => {
  it("8.x roles lack the GuestAgent privileges and VM.Replicate; PVEVMAdmin has VM.Monitor", () => {
    const roles = builtinRoleTable("8.x")
    expect(roles["PVEAuditor"]).toEqual(["Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit"])
    expect(roles["PVEVMAdmin"]).toContain("VM.Monitor")
    expect(roles["PVEVMAdmin"]!.some((p) => p.startsWith("VM.GuestAgent.") || p === "VM.Replicate")).toBe(false)
    expect(privilegesOf("8.x")).toContain("VM.Monitor")
    expect(privilegesOf("9.x")).not.toContain("VM.Monitor")
  })

  it.scopedLive("answers as 8.4.1 and refuses agent calls without VM.Monitor", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false, profile: "pve-8.4" })
      const op = sb.tokens.operate
      expect((yield* call(sb, op, "GET", "/version")).json.data).toEqual({ version: "8.4.1", release: "8.4", repoid: "2a5fa54a8503f96d" })
      expect((yield* call(sb, op, "GET", "/nodes/pve/status")).json.data.pveversion).toBe("pve-manager/8.4.1/2a5fa54a8503f96d")
      const ping = yield* call(sb, op, "POST", "/nodes/pve/qemu/200/agent/ping")
      expect([ping.status, ping.reason]).toEqual([403, "Permission check failed (/vms/200, VM.Monitor)"])
      const lxc = yield* call(sb, op, "GET", "/nodes/pve/lxc")
      expect(lxc.problems).toEqual([])
      expect(Object.keys(lxc.json.data[0]).some((k) => k.startsWith("pressure"))).toBe(false)
      const roles = (yield* call(sb, op, "GET", "/access/roles")).json.data as Array<{ roleid: string; privs: string }>
      expect(roles.find((r) => r.roleid === "PVEAuditor")?.privs).toBe("Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit")
      // the 9.1 default still grants agent ping to PVEAuditor
      const sb9 = yield* Sandbox.make({ seed: 1, authFailureDelay: 0, ssh: false })
      expect((yield* call(sb9, sb9.tokens.observe, "POST", "/nodes/pve/qemu/200/agent/ping")).status).toBe(200)
    })
  )
})
