/**
 * Random operation sequences (sandbox.md §9): after every operation the state invariants hold, every
 * read validates against the schema extract, and the `/etc/pve` view equals the rendered config.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fc from "fast-check"
import { handleApi, ROOT_CALLER } from "../src/api/ApiCore.js"
import { HANDLERS } from "../src/api/Handlers.js"
import { matchRoute } from "../src/api/Router.js"
import { RETURN_ALLOW_LIST, validateReturn } from "../src/api/Validator.js"
import { buildLab } from "../src/lab/Lab.js"
import { checkInvariants } from "../src/state/Invariants.js"
import type { LabState } from "../src/state/LabState.js"
import * as Machines from "../src/machines/Machines.js"

const GUESTS: ReadonlyArray<[string, number]> = [["lxc", 100], ["lxc", 101], ["lxc", 102], ["qemu", 200], ["qemu", 201], ["qemu", 9000], ["lxc", 9001]]

const api = (lab: LabState, method: string, path: string, params: Record<string, string> = {}) => {
  const q = new URLSearchParams(params).toString()
  const body = method === "GET" || method === "DELETE" ? undefined : q
  const url = `/api2/json${path}${body === undefined && q ? `?${q}` : ""}`
  const res = Effect.runSync(
    handleApi(lab, { method, url, headers: body !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}, ...(body !== undefined ? { body } : {}) }, { handlers: HANDLERS, as: ROOT_CALLER })
  )
  const json = res.body ? JSON.parse(res.body) : undefined
  if (res.status === 200) {
    const route = matchRoute(method, path)!
    const problems = validateReturn(route.endpoint.returns, json.data, RETURN_ALLOW_LIST[route.endpoint.path] ?? [])
    expect(problems, `${method} ${path}`).toEqual([])
  }
  return { status: res.status, reason: res.reason, data: json?.data }
}

const op = fc.oneof(
  fc.record({ kind: fc.constantFrom("start", "stop", "shutdown", "reboot"), guest: fc.constantFrom(...GUESTS) }),
  fc.record({ kind: fc.constant("snapshot"), guest: fc.constantFrom(...GUESTS), name: fc.constantFrom("a1", "b2", "c3", "pre-upgrade") }),
  fc.record({ kind: fc.constantFrom("delsnapshot", "rollback"), guest: fc.constantFrom(...GUESTS), name: fc.constantFrom("a1", "b2", "pre-upgrade", "post-upgrade", "before-kernel") }),
  fc.record({ kind: fc.constant("advance"), seconds: fc.integer({ min: 0, max: 15 }) })
)

describe("random operation sequences", () => {
  it("keep invariants, schema-valid reads and /etc/pve in sync", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const lab = buildLab({ seed: 1, clock: "manual" })
        const machines = Machines.make(lab, { hostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhvc3Qta2V5LWZvci10ZXN0cy1vbmx5LW5vdC1yZWFs root@pve" })
        lab.setMachines(machines)
        const hostFs = machines.host().fs
        for (const o of ops) {
          if (o.kind === "advance") lab.advance(o.seconds)
          else {
            const [type, vmid] = o.guest
            const base = `/nodes/pve/${type}/${vmid}`
            const r =
              o.kind === "snapshot"
                ? api(lab, "POST", `${base}/snapshot`, { snapname: o.name })
                : o.kind === "delsnapshot"
                  ? api(lab, "DELETE", `${base}/snapshot/${o.name}`)
                  : o.kind === "rollback"
                    ? api(lab, "POST", `${base}/snapshot/${o.name}/rollback`)
                    : api(lab, "POST", `${base}/status/${o.kind}`)
            expect([200, 500]).toContain(r.status)
            if (r.status === 200) expect(r.data).toMatch(/^UPID:pve:/)
          }
          expect(checkInvariants(lab)).toEqual([])
          for (const [type, vmid] of GUESTS) {
            const st = api(lab, "GET", `/nodes/pve/${type}/${vmid}/status/current`)
            expect(st.data.status).toBe(lab.getGuest(vmid)!.status)
            api(lab, "GET", `/nodes/pve/${type}/${vmid}/snapshot`)
            const cfg = api(lab, "GET", `/nodes/pve/${type}/${vmid}/config`)
            expect(cfg.data.digest).toBe(lab.configDigest(lab.getGuest(vmid)!))
            const conf = Buffer.from(await hostFs.readFile(`/etc/pve/${type === "lxc" ? "lxc" : "qemu-server"}/${vmid}.conf`)).toString("utf8")
            expect(conf).toBe(lab.renderConfig(lab.getGuest(vmid)!))
          }
          const res = api(lab, "GET", "/cluster/resources", { type: "vm" })
          expect(res.data.map((g: { vmid: number; status: string }) => `${g.vmid}:${g.status}`)).toEqual(lab.listGuests().map((g) => `${g.vmid}:${g.status}`))
          api(lab, "GET", "/nodes/pve/tasks", { source: "all" })
        }
        lab.advance(60)
        expect(checkInvariants(lab)).toEqual([])
        expect(lab.listTasks().every((t) => t.status === "stopped")).toBe(true)
      }),
      { numRuns: 40, seed: 20261126 }
    )
  })
})
