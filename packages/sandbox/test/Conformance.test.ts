/**
 * Fidelity: every endpoint the product uses, called on the default lab, answers with a body that
 * validates against the return schema of the extract (PVE semantics: 0/1 booleans, closed objects,
 * required unless optional); tasks succeed and fail visibly; a PVEAuditor token gets 403 on every
 * state-changing endpoint.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { ENDPOINTS } from "../src/api/Router.js"
import * as Sandbox from "../src/Sandbox.js"
import { call, type Reply } from "./support/api.js"

const adminToken = (sb: Sandbox.SandboxHandle): Sandbox.SandboxToken => {
  const lab = sb.lab
  if (!lab.users.has("admin@pve")) {
    Either.getOrThrow(lab.addUser("admin@pve"))
    Either.getOrThrow(lab.modifyAcl("/", { users: ["admin@pve"] }, ["Administrator"], 1))
  }
  const t = lab.tokens.get("admin@pve!full") ?? Either.getOrThrow(lab.addToken("admin@pve", "full", { privsep: 0 }))
  return { id: "admin@pve!full", secret: Redacted.make(t.secret) }
}

const ok = (r: Reply) => {
  expect(r.problems, `${r.status} ${r.reason} ${r.body.slice(0, 400)}`).toEqual([])
  expect(r.status, r.body).toBe(200)
  return r.json.data
}

const waitTask = (sb: Sandbox.SandboxHandle, upid: string) => sb.lab.awaitTask(upid)

describe("conformance with the PVE 9.1.3 schema extract", () => {
  it.scopedLive("every catalogue endpoint answers with schema-valid data", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: true })
      const op = sb.tokens.operate
      const admin = adminToken(sb)
      const seen = new Set<string>()
      const hit = (method: string, template: string) => seen.add(`${method} ${template}`)
      const get = (template: string, path: string, params: Record<string, string | number> = {}, token = op) =>
        Effect.tap(call(sb, token, "GET", path, params), () => Effect.sync(() => hit("GET", template)))
      const post = (template: string, path: string, params: Record<string, string | number | ReadonlyArray<string>> = {}, token = admin) =>
        Effect.tap(call(sb, token, "POST", path, params), () => Effect.sync(() => hit("POST", template)))
      const del = (template: string, path: string, params: Record<string, string | number> = {}, token = admin) =>
        Effect.tap(call(sb, token, "DELETE", path, params), () => Effect.sync(() => hit("DELETE", template)))

      expect(ok(yield* get("/version", "/version"))).toEqual({ version: "9.1.1", release: "9.1", repoid: "f4d3f125ffae50e9" })
      const nodes = ok(yield* get("/nodes", "/nodes"))
      expect(nodes[0].ssl_fingerprint).toBe(sb.api.tls.sha256Colon)
      const status = ok(yield* get("/nodes/{node}/status", "/nodes/pve/status"))
      expect(status.loadavg).toHaveLength(3)
      expect(typeof status.loadavg[0]).toBe("string")
      expect(status.pveversion).toBe("pve-manager/9.1.1/f4d3f125ffae50e9")
      expect(ok(yield* get("/nodes/{node}/disks/zfs", "/nodes/pve/disks/zfs"))[0]).toMatchObject({ name: "tank", health: "ONLINE" })
      const net = ok(yield* get("/nodes/{node}/network", "/nodes/pve/network"))
      expect(net.find((i: { iface: string }) => i.iface === "vmbr0")).toMatchObject({ bridge_ports: "eno1", bridge_vlan_aware: 1, cidr: "192.168.1.10/24" })
      ok(yield* get("/nodes/{node}/network", "/nodes/pve/network", { type: "bridge" }))
      const services = ok(yield* get("/nodes/{node}/services", "/nodes/pve/services"))
      expect(services.find((s: { service: string }) => s.service === "corosync")).toMatchObject({ "active-state": "inactive", state: "dead", "unit-state": "enabled" })
      expect(services.find((s: { service: string }) => s.service === "systemd-timesyncd")).toMatchObject({ "unit-state": "not-found" })
      ok(yield* get("/nodes/{node}/syslog", "/nodes/pve/syslog", { limit: 5 }, admin))
      ok(yield* get("/nodes/{node}/journal", "/nodes/pve/journal", { lastentries: 5 }, admin))
      expect(ok(yield* get("/cluster/status", "/cluster/status"))).toEqual([
        { type: "node", id: "node/pve", name: "pve", ip: "192.168.1.10", local: 1, nodeid: 0, online: 1, level: "" }
      ])
      const resources = ok(yield* get("/cluster/resources", "/cluster/resources"))
      expect(resources.filter((r: { type: string }) => r.type === "lxc" || r.type === "qemu")).toHaveLength(sb.lab.guests.size)
      for (const type of ["vm", "storage", "node"]) ok(yield* get("/cluster/resources", "/cluster/resources", { type }))
      const lxc = ok(yield* get("/nodes/{node}/lxc", "/nodes/pve/lxc"))
      expect(lxc.map((g: { vmid: number }) => g.vmid).sort()).toEqual([100, 101, 102, 9001])
      const qemu = ok(yield* get("/nodes/{node}/qemu", "/nodes/pve/qemu", { full: 1 }))
      expect(qemu.find((g: { vmid: number }) => g.vmid === 200)).toMatchObject({ qmpstatus: "running", "running-machine": "pc-i440fx-10.1+pve0" })
      for (const [type, vmid] of [["lxc", 100], ["lxc", 101], ["lxc", 102], ["qemu", 200], ["qemu", 201], ["qemu", 9000]] as const) {
        ok(yield* get(`/nodes/{node}/${type}/{vmid}/status/current`, `/nodes/pve/${type}/${vmid}/status/current`))
        const config = ok(yield* get(`/nodes/{node}/${type}/{vmid}/config`, `/nodes/pve/${type}/${vmid}/config`))
        expect(config.digest).toMatch(/^[0-9a-f]{40}$/)
        ok(yield* get(`/nodes/{node}/${type}/{vmid}/snapshot`, `/nodes/pve/${type}/${vmid}/snapshot`))
      }
      const cfg101 = ok(yield* get("/nodes/{node}/lxc/{vmid}/config", "/nodes/pve/lxc/101/config"))
      expect(cfg101.lxc).toEqual([["lxc.cgroup2.devices.allow", "c 226:128 rwm"]])
      expect(cfg101.cores).toBe(4)
      const cfg200 = ok(yield* get("/nodes/{node}/qemu/{vmid}/config", "/nodes/pve/qemu/200/config"))
      expect(cfg200.memory).toBe("4096")
      ok(yield* get("/nodes/{node}/lxc/{vmid}/config", "/nodes/pve/lxc/100/config", { snapshot: "pre-upgrade" }))
      const snaps = ok(yield* get("/nodes/{node}/lxc/{vmid}/snapshot", "/nodes/pve/lxc/100/snapshot"))
      expect(snaps.at(-1)).toMatchObject({ name: "current", description: "You are here!", running: 1, parent: "post-upgrade" })

      // storage
      const stores = ok(yield* get("/nodes/{node}/storage", "/nodes/pve/storage"))
      expect(stores.map((s: { storage: string }) => s.storage)).toEqual(["backups", "local", "local-lvm", "tank"])
      ok(yield* get("/nodes/{node}/storage/{storage}/status", "/nodes/pve/storage/local-lvm/status"))
      ok(yield* get("/nodes/{node}/storage/{storage}/content", "/nodes/pve/storage/local/content"))
      ok(yield* get("/nodes/{node}/storage/{storage}/content", "/nodes/pve/storage/local-lvm/content", { content: "rootdir" }))

      // lifecycle tasks (both kinds), each validated through status and log
      const runTask = (template: string, path: string, params: Record<string, string | number> = {}, token = op) =>
        Effect.gen(function* () {
          const upid = ok(yield* post(template, path, params, token)) as string
          expect(upid).toMatch(/^UPID:pve:/)
          yield* waitTask(sb, upid)
          const st = ok(yield* get("/nodes/{node}/tasks/{upid}/status", `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`, {}, token))
          const log = ok(yield* get("/nodes/{node}/tasks/{upid}/log", `/nodes/pve/tasks/${encodeURIComponent(upid)}/log`, {}, token))
          return { upid, status: st, log }
        })
      for (const type of ["lxc", "qemu"] as const) {
        const vmid = type === "lxc" ? 9001 : 9000
        const base = `/nodes/{node}/${type}/{vmid}`
        const p = `/nodes/pve/${type}/${vmid}`
        expect((yield* runTask(`${base}/status/start`, `${p}/status/start`)).status.exitstatus).toBe("OK")
        expect((yield* runTask(`${base}/status/reboot`, `${p}/status/reboot`)).status.exitstatus).toBe("OK")
        expect((yield* runTask(`${base}/status/shutdown`, `${p}/status/shutdown`, { timeout: 30 })).status.exitstatus).toBe("OK")
        expect((yield* runTask(`${base}/status/start`, `${p}/status/start`)).status.exitstatus).toBe("OK")
        expect((yield* runTask(`${base}/status/stop`, `${p}/status/stop`)).status.exitstatus).toBe("OK")
        const snap = yield* runTask(`${base}/snapshot`, `${p}/snapshot`, { snapname: "s1", description: "first" }, admin)
        expect(snap.status.exitstatus).toBe("OK")
        expect(snap.log.at(-1)).toEqual({ n: snap.log.length, t: "TASK OK" })
        expect((yield* runTask(`${base}/snapshot/{snapname}/rollback`, `${p}/snapshot/s1/rollback`, {}, admin)).status.exitstatus).toBe("OK")
        const d = ok(yield* del(`${base}/snapshot/{snapname}`, `${p}/snapshot/s1`))
        yield* waitTask(sb, d)
        expect(sb.lab.getTask(d)?.exitstatus).toBe("OK")
      }
      // a task that fails in the task (passthrough CT cannot snapshot)
      const failing = yield* runTask("/nodes/{node}/lxc/{vmid}/snapshot", "/nodes/pve/lxc/101/snapshot", { snapname: "nope" }, admin)
      expect(failing.status).toMatchObject({ status: "stopped", exitstatus: "snapshot feature is not available" })
      expect(failing.log.at(-1).t).toBe("TASK ERROR: snapshot feature is not available")
      // backups
      const backup = yield* runTask("/nodes/{node}/vzdump", "/nodes/pve/vzdump", { vmid: "100", storage: "backups", mode: "snapshot", compress: "zstd", "notes-template": "{{guestname}}" }, admin)
      expect(backup.status.exitstatus).toBe("OK")
      const content = ok(yield* get("/nodes/{node}/storage/{storage}/content", "/nodes/pve/storage/backups/content", { content: "backup" }))
      expect(content[0]).toMatchObject({ vmid: 100, content: "backup", subtype: "lxc", notes: "dns", format: "tar.zst" })
      const wrong = yield* runTask("/nodes/{node}/vzdump", "/nodes/pve/vzdump", { vmid: "100", storage: "local" }, admin)
      expect(wrong.status.exitstatus).toBe("can't use storage 'local' for backups - wrong content type")

      // task list (archive by default; token sees all with Sys.Audit)
      const list = yield* get("/nodes/{node}/tasks", "/nodes/pve/tasks", { limit: 5 })
      const tasks = ok(list)
      expect(tasks).toHaveLength(5)
      expect(list.json.total).toBeGreaterThan(5)
      ok(yield* get("/nodes/{node}/tasks", "/nodes/pve/tasks", { errors: 1, vmid: 101, source: "all" }))
      // a task long enough (about 17 real minutes at this time scale) to still run when the list and the
      // stop arrive, however loaded the machine is (a 2 ms container start could finish in between)
      const running = sb.lab.createTask({ type: "vzdump", id: "9001", by: { userid: "mcp@pve", tokenid: "mcp-operate" }, duration: 1e6 }).upid
      const active = ok(yield* get("/nodes/{node}/tasks", "/nodes/pve/tasks", { source: "active" }))
      expect(active.map((t: { upid: string }) => t.upid)).toContain(running)
      expect(active[0].status).toBe("RUNNING")
      ok(yield* del("/nodes/{node}/tasks/{upid}", `/nodes/pve/tasks/${encodeURIComponent(running)}`, {}, op))
      expect(sb.lab.getTask(running)?.exitstatus).toBe("interrupted by signal")

      // apt, access
      ok(yield* get("/nodes/{node}/apt/update", "/nodes/pve/apt/update", {}, admin))
      const apt = yield* runTask("/nodes/{node}/apt/update", "/nodes/pve/apt/update", {}, admin)
      expect(apt.upid).toMatch(/:aptupdate::admin@pve!full:$/)
      ok(yield* get("/nodes/{node}/apt/versions", "/nodes/pve/apt/versions"))
      const perms = ok(yield* get("/access/permissions", "/access/permissions", { path: "/vms/100" }))
      expect(perms).toEqual({ "/vms/100": { "Datastore.Audit": 1, "Mapping.Audit": 1, "Pool.Audit": 1, "SDN.Audit": 1, "Sys.Audit": 1, "VM.Audit": 1, "VM.GuestAgent.Audit": 1, "VM.PowerMgmt": 1 } })
      ok(yield* get("/access/permissions", "/access/permissions"))
      const roles = ok(yield* get("/access/roles", "/access/roles"))
      expect(roles.find((r: { roleid: string }) => r.roleid === "MCPOperate")).toEqual({ roleid: "MCPOperate", privs: "Datastore.Audit,Sys.Audit,VM.Audit,VM.PowerMgmt", special: 0 })

      // guest agent (VM 200 runs with an agent)
      const a = "/nodes/{node}/qemu/{vmid}/agent"
      expect(ok(yield* post(`${a}/ping`, "/nodes/pve/qemu/200/agent/ping", {}, op))).toEqual({ result: {} })
      for (const cmd of ["info", "get-osinfo", "get-host-name", "get-fsinfo", "network-get-interfaces"]) ok(yield* get(`${a}/${cmd}`, `/nodes/pve/qemu/200/agent/${cmd}`))
      expect(ok(yield* get(`${a}/get-osinfo`, "/nodes/pve/qemu/200/agent/get-osinfo")).result["pretty-name"]).toBe("Debian GNU/Linux 12 (bookworm)")
      ok(yield* post(`${a}/file-write`, "/nodes/pve/qemu/200/agent/file-write", { file: "/tmp/hello.txt", content: "hello agent\n" }))
      const read = ok(yield* get(`${a}/file-read`, "/nodes/pve/qemu/200/agent/file-read", { file: "/tmp/hello.txt" }, admin))
      expect(read).toEqual({ content: "hello agent\n", "bytes-read": 12 })
      const part = ok(yield* get(`${a}/file-read`, "/nodes/pve/qemu/200/agent/file-read", { file: "/tmp/hello.txt", count: 5, decode: 0 }, admin))
      expect(part).toEqual({ content: Buffer.from("hello").toString("base64"), "bytes-read": 5, truncated: 1 })
      const exec = ok(yield* post(`${a}/exec`, "/nodes/pve/qemu/200/agent/exec", { command: ["cat", "/tmp/hello.txt"] }))
      let st: { exited: number; "out-data"?: string; exitcode?: number } = { exited: 0 }
      for (let i = 0; i < 200 && st.exited === 0; i++) {
        st = ok(yield* get(`${a}/exec-status`, "/nodes/pve/qemu/200/agent/exec-status", { pid: exec.pid }, admin))
        if (st.exited === 0) yield* Effect.sleep("5 millis")
      }
      expect(st).toMatchObject({ exited: 1, exitcode: 0, "out-data": "hello agent\n" })

      const missing = ENDPOINTS.map((e) => `${e.method} ${e.path}`).filter((k) => !seen.has(k))
      expect(missing).toEqual([])
    })
  )

  it.scopedLive("a PVEAuditor (observe) token gets 403 on every state-changing endpoint", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      const observe = sb.tokens.observe
      const concrete = (path: string) =>
        path.replace("{node}", "pve").replace("{vmid}", path.includes("/qemu/") ? "200" : "100").replace("{snapname}", "pre-upgrade").replace("{storage}", "local")
      const params: Record<string, Record<string, string | ReadonlyArray<string>>> = {
        "POST /nodes/{node}/lxc/{vmid}/snapshot": { snapname: "x" },
        "POST /nodes/{node}/qemu/{vmid}/snapshot": { snapname: "x" },
        "POST /nodes/{node}/vzdump": { vmid: "100", storage: "backups" },
        "POST /nodes/{node}/qemu/{vmid}/agent/exec": { command: ["true"] },
        "POST /nodes/{node}/qemu/{vmid}/agent/file-write": { file: "/tmp/x", content: "x" }
      }
      const upid = Either.getOrThrow(sb.lab.startGuest(9001)).upid
      const mutating = ENDPOINTS.filter((e) => e.method !== "GET" && !e.path.endsWith("/agent/ping"))
      expect(mutating.length).toBeGreaterThan(10)
      for (const e of mutating) {
        const path = e.path === "/nodes/{node}/tasks/{upid}" ? `/nodes/pve/tasks/${encodeURIComponent(upid)}` : concrete(e.path)
        const r = yield* call(sb, observe, e.method, path, params[`${e.method} ${e.path}`] ?? {})
        expect(r.status, `${e.method} ${e.path}: ${r.reason}`).toBe(403)
        expect(r.reason).toMatch(/^Permission check failed \(\/(vms|nodes|storage)\/[^,]+, [A-Za-z.|]+\)$/)
        expect(r.json).toEqual({ data: null, message: `${r.reason}\n` })
      }
      // and nothing changed: no task was created by the observe token
      expect(sb.lab.listTasks().filter((t) => t.tokenid === "mcp-observe")).toEqual([])
      // syslog and apt are refused for every tier token, as setup's negative test expects
      for (const token of [sb.tokens.observe, sb.tokens.operate, sb.tokens.companion]) {
        expect((yield* call(sb, token, "GET", "/nodes/pve/syslog")).reason).toBe("Permission check failed (/nodes/pve, Sys.Syslog)")
        expect((yield* call(sb, token, "GET", "/nodes/pve/apt/update")).reason).toBe("Permission check failed (/nodes/pve, Sys.Modify)")
      }
    })
  )

  it.scopedLive("vzdump over several guests is one task with one archive per guest", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 1, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      const admin = adminToken(sb)
      const upid = ok(yield* call(sb, admin, "POST", "/nodes/pve/vzdump", { vmid: "100,102", storage: "backups", "notes-template": "{{guestname}} ({{vmid}})" })) as string
      expect(upid).toMatch(/:vzdump::admin@pve!full:$/)
      expect(sb.lab.getGuest(100)?.config["lock"]).toBe("backup")
      yield* sb.lab.awaitTask(upid)
      expect(sb.lab.getTask(upid)?.exitstatus).toBe("OK")
      expect(sb.lab.getGuest(100)?.config["lock"]).toBeUndefined()
      const content = ok(yield* call(sb, admin, "GET", "/nodes/pve/storage/backups/content", { content: "backup" }))
      expect(content.map((v: { vmid: number; notes: string }) => [v.vmid, v.notes])).toEqual([[100, "dns (100)"], [102, "lab-alpine (102)"]])
      // the product's tier tokens cannot back up
      expect((yield* call(sb, sb.tokens.companion, "POST", "/nodes/pve/vzdump", { vmid: "100", storage: "backups" })).reason).toBe("Permission check failed (/vms/100, VM.Backup)")
      const missing = yield* call(sb, admin, "POST", "/nodes/pve/vzdump", { storage: "backups" })
      expect(missing.json.errors).toEqual({ vmid: "property is missing and it is not optional" })
    })
  )

  it.scopedLive("a generated 50-guest lab validates on every list and guest read", () =>
    Effect.gen(function* () {
      const sb = yield* Sandbox.make({ seed: 7, guests: 50, timeScale: 0.001, authFailureDelay: 0, ssh: false })
      const t = sb.tokens.operate
      for (const path of ["/cluster/resources", "/nodes/pve/lxc", "/nodes/pve/qemu", "/nodes/pve/storage"]) ok(yield* call(sb, t, "GET", path))
      for (const g of sb.lab.listGuests()) {
        ok(yield* call(sb, t, "GET", `/nodes/pve/${g.type}/${g.vmid}/status/current`))
        ok(yield* call(sb, t, "GET", `/nodes/pve/${g.type}/${g.vmid}/config`))
        ok(yield* call(sb, t, "GET", `/nodes/pve/${g.type}/${g.vmid}/snapshot`))
      }
    })
  )
})
